"""The stuck-delivery alarm: a referral waiting longer than DELIVERY_ALERT_MINUTES to reach staff.

Raised once per stuck job (the oldest pending one): logged at ERROR, posted to the staff Telegram
chat when there is one (how many are waiting and since when; no personal data), and the worker's
health check (`python -m bot.heartbeat worker`) fails while it stands. It clears when nothing has
been waiting that long; a later stuck job raises it again. Each worker raises it for itself."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable, Optional

from actions.delivery import metrics
from actions.delivery.email import uk_time
from actions.delivery.store import pending_deliveries
from actions.delivery.telegram_staff import post_to_staff_chat
from bot import heartbeat
from bot.settings import Settings

log = logging.getLogger("actions.delivery.worker")

ALARM = "worker"  # the heartbeat the alarm fails


def alarm_text(count: int, since: datetime) -> str:
    waiting = "1 referral is" if count == 1 else f"{count} referrals are"
    return (f"{waiting} waiting to be delivered since {uk_time(since)}. Staff email may be failing: "
            "please check the mail server, then the worker's log.")


class StuckDeliveryAlarm:
    def __init__(self, engine, settings: Settings, post: Optional[Callable[[Settings, str], None]] = None) -> None:
        self.engine = engine
        self.settings = settings
        self._post = post or post_to_staff_chat
        self._raised_for: Optional[int] = None  # the job the standing alarm is about

    @property
    def raised(self) -> bool:
        return self._raised_for is not None

    def check(self, now: datetime) -> bool:
        """Raises or clears the alarm for the store as it is at `now`; True while it stands."""
        count, oldest_at, oldest_id = pending_deliveries(self.engine)
        limit = timedelta(minutes=self.settings.delivery_alert_minutes)
        if oldest_at is None or now - oldest_at < limit:
            if self.raised:
                log.info("stuck-delivery alarm cleared: nothing has waited %s minutes", f"{self.settings.delivery_alert_minutes:g}")
            heartbeat.clear_alarm(self.settings.var_dir, ALARM)  # also one a stopped worker left behind
            self._raised_for = None
            return False
        if self._raised_for != oldest_id:
            text = alarm_text(count, oldest_at)
            log.error("stuck-delivery alarm: %s", text)
            heartbeat.raise_alarm(self.settings.var_dir, ALARM, text)
            metrics.ALARM.inc()
            if self.settings.telegram_bot_token and self.settings.telegram_staff_chat_id:
                try:
                    self._post(self.settings, text)
                except Exception as error:  # the staff chat may be what is failing
                    log.error("stuck-delivery alarm not posted to the staff chat: %s", type(error).__name__)
            self._raised_for = oldest_id
        return True
