"""Which apprise services an `apprise` channel may use, and reading its URL offline.

Only services that talk HTTP(S) through `requests` are let through: every connection
they open passes tickhub's address guard (`_apprise_guard`). Services that open other
sockets (SMTP `mailto://`, syslog, MQTT, AMQP, XMPP, IRC, SMPP, desktop notifications,
...) could not be guarded and are refused, as is any service not listed here (a newer
apprise may add some: they stay refused until listed).

Three groups:

- `USER_HOST`: the URL names the host to talk to (`json://`, `ntfy://host/topic`,
  Gotify, Mattermost, Matrix, ...). A literal non-public address there is refused when
  the channel is saved; a host name is resolved and judged at each connection.
- `HOSTED`: the service's own public API (Slack, Discord, Telegram, Pushover, ...).
- `PERSONAL`: messages to a phone number or an e-mail address (SMS, WhatsApp, Signal,
  e-mail APIs). Sent with the user's own account, but to a person: like tickhub's e-mail
  and Telegram channels, such a target gets a confirmation code first and alerts only
  once the user has entered it, so nobody is messaged without having agreed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tickhub.alerts.notifiers import _apprise_guard
from tickhub.alerts.notifiers._guard import AddressPolicy, literal_address

if TYPE_CHECKING:
    from apprise.plugins.base import NotifyBase

MAX_APPRISE_URL = 2048

USER_HOST = frozenset(
    {
        "custom_json", "custom_xml", "custom_form", "ntfy", "gotify", "mattermost",
        "rocketchat", "matrix.base", "nextcloud", "nextcloudtalk", "apprise_api",
        "signal_api", "smseagle", "home_assistant", "synology", "mastodon", "misskey",
        "bark", "gorush", "zulip",
    }
)  # fmt: skip
HOSTED = frozenset(
    {
        "discord", "slack", "telegram", "pushover", "pushbullet", "pagerduty", "opsgenie",
        "google_chat", "ifttt", "join", "line", "prowl", "pushsafer", "simplepush",
        "webexteams", "workflows", "twist", "flock", "signl4", "splunk", "spike",
        "squadcast", "ryver", "revolt", "groupme", "one_signal", "pushy", "viber",
        "wecombot", "dingtalk", "feishu", "lark", "serverchan", "pushdeer", "pushplus",
        "wxpusher", "techuluspush", "bluesky", "reddit", "kumulos", "fcm",
    }
)  # fmt: skip
PERSONAL = frozenset(
    {
        # SMS, WhatsApp and other phone messaging
        "twilio", "whatsapp", "awswhatsapp", "whapi", "vonage", "sinch", "clicksend",
        "messagebird", "plivo", "d7networks", "bulksms", "bulkvs", "burstsms",
        "clickatell", "kavenegar", "seven", "africas_talking", "msg91", "infobip",
        "telnyx", "exotel", "kaleyra", "httpsms", "mobilemessage", "octopush",
        "serwersms", "smsmanager", "smsc", "telesign", "fortysixelks", "cm", "voipms",
        "ringcentral", "threema", "signal_api", "smseagle", "sns", "acs",
        # e-mail to any address through an API
        "sendgrid", "mailgun", "sparkpost", "ses", "resend", "brevo", "postmark",
        "mailersend", "smtp2go", "sendpulse", "office365",
    }
)  # fmt: skip
ALLOWED = USER_HOST | HOSTED | PERSONAL
_PLUGINS = "apprise.plugins."


@dataclass(frozen=True, slots=True)
class AppriseUrl:
    """What tickhub knows of a valid apprise URL without sending anything."""

    service: str  # the plugin's module under apprise.plugins: "custom_json", "twilio"
    scheme: str  # as written: "json", "twilio"
    host: str  # the URL's host part, as apprise read it (for some services a token)
    personal: bool  # messages a phone number or an e-mail address: needs proof

    @property
    def masked_host(self) -> str:
        """At most the first two characters: for many services the host is a key."""
        return self.host[:2] + "…" if len(self.host) > 4 else "…"


def service_of(plugin: NotifyBase) -> str:
    module = type(plugin).__module__
    return module.removeprefix(_PLUGINS)


def _schemes(plugin: NotifyBase) -> list[str]:
    """The plugin's own schemes, secure ones first."""
    out: list[str] = []
    for attr in ("secure_protocol", "protocol"):
        value = getattr(type(plugin), attr, None)
        out.extend([value] if isinstance(value, str) else list(value or ()))
    return [str(v) for v in out]


def instantiate(url: str) -> NotifyBase | None:
    """apprise's own reading of `url` (offline: nothing is sent, nothing looked up).
    apprise's log is kept private first: its complaints quote the URL."""
    _apprise_guard.install()
    import apprise  # heavy (it loads every plugin): imported when first needed

    return apprise.Apprise.instantiate(url, suppress_exceptions=True)


def read_url(url: str, policy: AddressPolicy) -> AppriseUrl:
    """The URL's service, checked; `ValueError` with a message fit for the user (it
    never quotes the URL, which may hold secrets)."""
    if len(url) > MAX_APPRISE_URL:
        raise ValueError(f"must be at most {MAX_APPRISE_URL} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise ValueError("must not contain spaces or control characters")
    plugin = instantiate(url)
    if plugin is None:
        raise ValueError(
            "is not a URL apprise can use: an unknown service, or a required part "
            "missing or malformed (see the apprise wiki for each service's URL)"
        )
    service = service_of(plugin)
    schemes = _schemes(plugin)
    scheme = urlsplit(url).scheme.lower()
    if scheme not in schemes:  # a service's own URL (https://discord.com/api/webhooks/...)
        scheme = schemes[0] if schemes else service
    if service not in ALLOWED:
        raise ValueError(
            f"uses a service tickhub does not send to ({scheme or service}): only "
            "services that talk HTTP(S) through its address guard are allowed (for e-mail "
            "use the email channel)"
        )
    host = str(getattr(plugin, "host", None) or "")
    if service in USER_HOST and host:
        ip = literal_address(host)
        if ip is not None and not policy.host_allowed(host):
            kind = policy.refusal(host, str(ip))
            if kind is not None:
                raise ValueError(
                    f"must not point at a {kind} address; use a public host name or address"
                )
    return AppriseUrl(
        service=service, scheme=scheme or service, host=host, personal=service in PERSONAL
    )
