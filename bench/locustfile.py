"""Locust users for the throughput figure: half programme questions, half referral form steps.

Each task is a fresh conversation. No think time: every user sends its next turn as soon as the
last is answered, so a few dozen users keep the servers saturated.
Run by bench/throughput.py: locust -f bench/locustfile.py --headless -u USERS -r RATE --run-time Ns --host URL
"""
from __future__ import annotations

from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

from bench.scenarios import FORM_STEP, NAME, PROGRAMME, REST_PATH, START_REFERRAL, Turn, new_sender, payload, problem


class Parent(FastHttpUser):
    wait_time = constant(0)

    def _say(self, sender: str, turn: Turn, name: str) -> bool:
        with self.client.post(REST_PATH, json=payload(sender, turn), name=name, catch_response=True) as reply:
            try:
                body = reply.json() if reply.status_code == 200 else None
            except ValueError:
                body = None
            failed = problem(turn, reply.status_code, body)
            if failed:
                reply.failure(failed)
                return False
            reply.success()
            return True

    @task(3)  # one turn each, against the referral's three: half the turns are programme questions
    def programme_question(self) -> None:
        self._say(new_sender("locust"), PROGRAMME.timed, "programme question")

    @task(1)
    def referral_steps(self) -> None:
        sender = new_sender("locust")
        for turn, name in ((START_REFERRAL, "form: start"), (FORM_STEP.timed, "form: who for"), (NAME, "form: name")):
            if not self._say(sender, turn, name):
                return
