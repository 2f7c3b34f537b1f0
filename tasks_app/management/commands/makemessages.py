from django.core.management.commands import makemessages


class Command(makemessages.Command):
    # Our modules call eager gettext as `_t` (`_` is gettext_lazy there); let xgettext see it.
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=_t"]
