"""One exception handler: application errors and Django validation errors become clear 4xx answers."""
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from health.errors import ApplicationError


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
