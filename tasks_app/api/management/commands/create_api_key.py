"""Create an API key and print it once, alone on the last line (for scripts):

manage.py create_api_key --unit 10507 --name "Hệ thống một cửa phường Thành Đông"
manage.py create_api_key --portal --province 31 --name "Cổng thông tin thành phố"
manage.py create_api_key --portal --national --name "Cổng theo dõi toàn quốc"

A portal key reads one province (--province CODE) or, said explicitly, every province (--national).
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tasks_app.api.models import ApiKey
from tasks_app.models import Unit


class Command(BaseCommand):
    help = "Create an API key for one unit (--unit CODE) or a read-only portal key (--portal)."

    def add_arguments(self, parser):
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--unit", metavar="CODE", help="the unit's official code, e.g. 10507")
        who.add_argument("--portal", action="store_true", help="a read-only key that sees every unit")
        parser.add_argument("--province", metavar="CODE", help="with --portal: the province it reads, e.g. 31")
        parser.add_argument("--national", action="store_true", help="with --portal: reads every province")
        parser.add_argument("--name", help="which system uses the key (default: derived from the unit)")
        parser.add_argument("--expires-in-days", type=int, metavar="N", help="the key stops working after N days")

    def handle(
        self, *args, unit=None, portal=False, province=None, national=False, name=None, expires_in_days=None, **options
    ):
        if expires_in_days is not None and expires_in_days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        if portal and (province is None) == (not national):
            raise CommandError("A portal key needs exactly one of --province CODE or --national.")
        if not portal and (province or national):
            raise CommandError("--province and --national apply to --portal keys only.")
        expiry = timezone.now() + dt.timedelta(days=expires_in_days) if expires_in_days else None
        if portal:
            province_obj = None
            if province is not None:
                try:
                    province_obj = Unit.objects.get(code=province, parent__isnull=True, kind__in=Unit.PROVINCE_LEVEL)
                except Unit.DoesNotExist as exc:
                    raise CommandError(f"No province with code {province!r}.") from exc
            api_key, key = ApiKey.objects.create_key(
                name=name or "Portal", is_portal=True, province=province_obj, expiry_date=expiry
            )
            scope = (
                f"portal (read-only, province {province_obj.code} {province_obj.name})"
                if province_obj
                else "portal (read-only, every province)"
            )
        else:
            try:
                unit_obj = Unit.objects.get(code=unit)
            except Unit.DoesNotExist as exc:
                raise CommandError(f"No unit with code {unit!r}.") from exc
            api_key, key = ApiKey.objects.create_key(
                name=name or f"API {unit_obj.code}", unit=unit_obj, expiry_date=expiry
            )
            scope = f"unit {unit_obj.code} {unit_obj.name}"
        self.stdout.write(f"Created API key {api_key.name!r} ({api_key.prefix}…) for {scope}.")
        if expiry:
            self.stdout.write(f"Expires: {expiry.isoformat()}")
        self.stdout.write("Send it as `Authorization: Bearer <key>`. It is shown only once:")
        self.stdout.write(key)
