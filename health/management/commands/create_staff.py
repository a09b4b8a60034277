"""create_staff USERNAME --password P (--admin | --community CODE | --hotel CODE | --department KIND): idempotent."""
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from health.models import Organisation
from health.services.staff import staff_upsert


class Command(BaseCommand):
    help = "创建或更新工作人员账号（可重复执行：再次执行会更新密码和所属机构），并生成 API 令牌。"

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password", required=True, help="登录密码（不会被打印）")
        acting = parser.add_mutually_exclusive_group(required=True)
        acting.add_argument("--admin", action="store_true", help="管理员（不隶属任何机构）")
        acting.add_argument("--community", metavar="CODE", help="社区编码")
        acting.add_argument("--hotel", metavar="CODE", help="酒店编码")
        acting.add_argument(
            "--department", metavar="KIND", choices=[str(kind) for kind in Organisation.DEPARTMENTS], help="部门类型"
        )

    def handle(self, *args, username, password, admin, community, hotel, department, **options):
        organisation = None
        if community or hotel:
            kind, code = (Organisation.Kind.COMMUNITY, community) if community else (Organisation.Kind.HOTEL, hotel)
            organisation = Organisation.objects.filter(kind=kind, code=code).first()
            if organisation is None:
                raise CommandError(f"不存在编码为 {code} 的{Organisation.Kind(kind).label}，请先创建。")
        elif department:
            organisation = Organisation.objects.filter(kind=department, code=department).first()
            if organisation is None:
                raise CommandError(f"部门 {department} 不存在（应由数据迁移创建）。")
        try:
            user, created = staff_upsert(username=username, password=password, organisation=organisation, admin=admin)
        except ValidationError as error:
            raise CommandError("；".join(error.messages)) from None
        acting_for = "管理员" if admin else f"{organisation.get_kind_display()} {organisation.name}（{organisation.code}）"
        verb = "已创建" if created else "已更新"
        # The password and the token are never printed: the token is fetched with POST /api/v1/auth/token/.
        self.stdout.write(self.style.SUCCESS(f"{verb}工作人员账号 {user.username}：{acting_for}"))
