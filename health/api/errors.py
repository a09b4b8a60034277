"""One exception handler: application errors and Django validation errors become clear 4xx answers."""
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from health.errors import ApplicationError

# Django raises these while reading a body over its limits (DATA_UPLOAD_MAX_MEMORY_SIZE, …) and would answer
# them with its HTML 400 page; the API answers JSON like every other refusal.
BODY_REFUSED = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)
BODY_TOO_LARGE = _("请求体过大。")


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        # An error that knows its detailed body (e.g. the rows of a feed that conflict) gives it.
        if getattr(exc, "body", None) is not None:
            return Response(exc.body, status=exc.status_code)
        key = exc.field or "detail"
        body = {key: [str(exc.message)]} if exc.field else {"detail": str(exc.message)}
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            body = {field: [str(m) for e in errors for m in e.messages] for field, errors in exc.error_dict.items()}
        else:
            body = {"non_field_errors": [str(m) for m in exc.messages]}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, BODY_REFUSED):
        return Response({"detail": str(BODY_TOO_LARGE)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.ParseError):
        return Response({"detail": str(exc.detail)}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


def not_found(request, exception=None):
    """Django's 404 handler: JSON under /api/ (clients parse every answer), the usual page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    from health.errors import NotVisible

    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(NotVisible.default_message)}, status=404)
    return page_not_found(request, exception)


def bad_request(request, exception=None):
    """Django's 400 handler (a request refused before or outside a DRF view): JSON under /api/."""
    from django.http import JsonResponse
    from django.views.defaults import bad_request as django_bad_request

    if request.path.startswith("/api/"):
        message = BODY_TOO_LARGE if isinstance(exception, BODY_REFUSED) else _("请求无效。")
        return JsonResponse({"detail": str(message)}, status=400, json_dumps_params={"ensure_ascii": False})
    return django_bad_request(request, exception)
