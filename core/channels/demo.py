"""The demo region's notification channels, loaded by ``edusec load_demo`` (after the notices).

Robots of the city, of 东湖区 and of the demo school point at the local stand-in for the vendors that ``edusec run``
starts in demo mode (``core.channels.services``, 127.0.0.1:18090), with the secrets that stand-in checks, so that the
delivery log fills with real, signed deliveries as the notices loop runs. Idempotent.
"""

from django.conf import settings

from core.registry import register_demo_loader

# The stand-in's fixed demo secrets (also the defaults of ``edusec webhook_receiver``).
DEMO_SECRETS = {
    "wecom": "",
    "dingtalk": "SECdemo-dingtalk-secret-0001",
    "feishu": "demo-feishu-secret-0001",
    "webhook": "demo-webhook-secret-0001",
}

# (unit: city / district / school, name, kind, query, subscribed events, also for subordinate units)
ENDPOINTS = [
    ("city", "市教育局网络安全工作群（钉钉）", "dingtalk", "?access_token=demo-city",
     ["notices.submitted", "notices.overdue"], False),
    ("city", "市教育局安全运营平台（Webhook）", "webhook", "", ["notices.overdue", "notices.closed"], True),
    ("district", "东湖区网络安全群（企业微信）", "wecom", "?key=demo-donghu",
     ["notices.issued", "notices.submitted", "notices.overdue", "monitoring.down", "monitoring.content"], True),
    ("school", "学校信息中心群（飞书）", "feishu", "",
     ["notices.issued", "notices.returned", "notices.reminder", "notices.closed", "monitoring.down",
      "monitoring.recovered", "monitoring.content", "monitoring.certificate"], False),
]  # fmt: skip


def receiver_base() -> str:
    return f"http://127.0.0.1:{settings.EDUSEC_DEMO_RECEIVER_PORT}"


def load() -> dict | None:
    from django.contrib.auth import get_user_model

    from orgs import demo as orgs_demo
    from orgs.models import Unit

    from ..models import ChannelEndpoint, ChannelSubscription

    city = Unit.objects.filter(code=orgs_demo.CITY_CODE).first()
    if city is None or ChannelEndpoint.objects.filter(unit__path__startswith=city.path).exists():
        return None
    users = {u.username: u for u in get_user_model().objects.filter(is_demo=True).select_related("unit")}
    if "dh_security" not in users or "school_netadmin" not in users:
        return None
    units = {"city": city, "district": users["dh_security"].unit, "school": users["school_netadmin"].unit}
    created = 0
    for where, name, kind, query, events, subunits in ENDPOINTS:
        endpoint = ChannelEndpoint.objects.create(
            unit=units[where], name=name, kind=kind, webhook_url=f"{receiver_base()}/{kind}{query}",
            secret=DEMO_SECRETS[kind], include_subunits=subunits,
            remarks="演示：发往本机的模拟接收端（edusec run 演示模式自动启动）",
        )  # fmt: skip
        ChannelSubscription.objects.bulk_create(
            ChannelSubscription(unit=endpoint.unit, endpoint=endpoint, event_type=event) for event in events
        )
        created += 1
    return {"channel_endpoints": created}


register_demo_loader(load)
