"""The OpenAPI schema's shared parts: every operation documents the error shapes it can return."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="Thông báo lỗi, theo ngôn ngữ của Accept-Language (mặc định tiếng Việt).")
    code = serializers.CharField(required=False, help_text="409: mã xung đột, ví dụ illegal_transition.")
    current_version = serializers.IntegerField(required=False, help_text="412: phiên bản hiện tại của phân công.")


class FieldErrorsSerializer(serializers.Serializer):
    """400: `{"<field>": ["message", ...], "non_field_errors": [...]}`."""

    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)


_ERRORS = {
    "400": OpenApiResponse(FieldErrorsSerializer, description="Dữ liệu không hợp lệ: thông báo theo từng trường."),
    "401": OpenApiResponse(ErrorSerializer, description="Thiếu hoặc sai khóa API / phiên đăng nhập."),
    "403": OpenApiResponse(ErrorSerializer, description="Thấy được đối tượng nhưng không được phép thao tác."),
    "404": OpenApiResponse(ErrorSerializer, description="Không có, hoặc ngoài phạm vi của người gọi."),
    "429": OpenApiResponse(ErrorSerializer, description="Vượt giới hạn số yêu cầu của khóa; xem Retry-After."),
}
_WRITE_ERRORS = {
    "409": OpenApiResponse(ErrorSerializer, description="Xung đột với trạng thái hiện tại."),
    "412": OpenApiResponse(ErrorSerializer, description="If-Match không khớp phiên bản hiện tại (ETag)."),
}


class ApiAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = dict(_ERRORS)
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            errors.update(_WRITE_ERRORS)
        for code, response in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses

    def get_paginated_name(self, serializer_name: str) -> str:
        # The sync's keyset pages have their own shape (next, next_since, results; no count).
        if getattr(self.view, "action", None) == "sync":
            return f"{serializer_name}SyncPage"
        return super().get_paginated_name(serializer_name)
