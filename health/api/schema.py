"""The OpenAPI schema: every operation also declares the error answers of the API contract.

api.md gives the same error codes to every endpoint (400 invalid input, 401 no credentials, 403 a
kind that may not act, 404 not theirs, 409 a name contradicting a known ID number, 429 throttled);
declaring them here once keeps the schema true without repeating them on each view.
"""
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework.permissions import AllowAny

ERROR_BODY = {
    "type": "object",
    "description": _("{字段: [错误信息]}，或 {detail: 错误信息}"),
    "additionalProperties": {},
}


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction == "response":
            for code, description in self._error_answers():
                responses.setdefault(
                    code, {"description": description, "content": {"application/json": {"schema": ERROR_BODY}}}
                )
        return responses

    def _error_answers(self) -> list[tuple[str, str]]:
        writes = self.method in ("POST", "PUT", "PATCH")
        public = any(isinstance(permission, AllowAny) for permission in self.view.get_permissions())
        answers = []
        if writes or self.method == "GET":
            answers.append(("400", _("输入无效")))
        if not public:
            answers += [("401", _("未提供凭证")), ("403", _("无权执行此操作"))]
        if "{" in self.path:
            answers.append(("404", _("不存在或不属于本机构")))
        if writes and not public:
            answers.append(("409", _("姓名与已登记的身份证号不符")))
        if getattr(self.view, "throttle_classes", None):
            answers.append(("429", _("请求过于频繁")))
        return answers


class StaffTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Token <token>` from POST /api/v1/auth/token/ (12 hours; health/auth.py)."""

    target_class = "health.auth.StaffTokenAuthentication"
    name = "tokenAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")


class MachineKeyScheme(OpenApiAuthenticationExtension):
    """`Authorization: Api-Key <key>`: a system's key, accepted only on its kind's endpoints."""

    target_class = "health.auth.MachineKeyAuthentication"
    name = "machineKeyAuth"

    def get_security_requirement(self, auto_schema):
        # Listed only on the operations a key may call (every other one answers a key with 403).
        return {self.name: []} if getattr(auto_schema.view, "machine_key_scope", None) else None

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Api-Key")
