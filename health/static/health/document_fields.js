// The document type selector shows the fields its type needs (nationality, birth date) and hides the rest.
(function () {
  function rowOf(element) {
    return element.closest(".form-row") || element.parentElement;
  }
  function update(select) {
    var form = select.form;
    if (!form) return;
    form.querySelectorAll("[data-needs]").forEach(function (field) {
      var shown = field.getAttribute("data-needs").split(" ").indexOf(select.value) !== -1;
      rowOf(field).style.display = shown ? "" : "none";
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-document-type]").forEach(function (select) {
      update(select);
      select.addEventListener("change", function () { update(select); });
    });
  });
})();
