"""The Character Service under a realistic mix: mostly reads, campaign listings, and create/update/delete cycles
on the load's own synthetic records (owner ``loadtest-...``), which it deletes again.

    locust -f locustfiles/character_service.py --headless -u 20 -r 10 --run-time 60s --host http://127.0.0.1:8001
    locust -f locustfiles/character_service.py --target staging --backend storage        # web UI: Thresholds tab

On a target whose environment is production the load only reads, unless --allow-writes.

Thresholds come from contracts/alert-rules.yaml (see harness/load/); `--rule-window 30s --rule-for 15s` scales
the rules' 5m windows down for short runs. Exit code: 0 pass, 3 breach, 4 invalid run. The logic lives in
harness/load/; this file only says what a user does.
"""

from __future__ import annotations

import random

from locust import FastHttpUser, between, task

from harness.load import traffic
from harness.load.locust_plugin import STATE, RolloutShape  # noqa: F401  (options, thresholds, UI tab, shape)


class CharacterServiceUser(FastHttpUser):
    wait_time = between(0.05, 0.15)
    # explicit timeouts (FastHttpUser's default is 60 s); the target's [timeouts] replace them at init
    connection_timeout = 3.0
    network_timeout = 10.0

    def on_start(self) -> None:
        self.rng = random.Random()
        self.created: set[str] = set()
        with self.client.get(f"{traffic.CHARACTERS}?limit=100", name=traffic.CHARACTERS, catch_response=True) as r:
            self.character_ids = traffic.ids_of(r.json()) if r.status_code == 200 else []
        with self.client.get(f"{traffic.CAMPAIGNS}?limit=50", name=traffic.CAMPAIGNS, catch_response=True) as r:
            self.campaign_ids = traffic.ids_of(r.json()) if r.status_code == 200 else []

    def on_stop(self) -> None:
        for character_id in list(self.created):  # a cycle interrupted by the stop: leave nothing behind
            self.client.delete(f"{traffic.CHARACTERS}/{character_id}", name=traffic.CHARACTER)
            self.created.discard(character_id)

    @task(traffic.WEIGHTS["get_character"])
    def get_character(self) -> None:
        if self.character_ids:
            self.client.get(f"{traffic.CHARACTERS}/{self.rng.choice(self.character_ids)}", name=traffic.CHARACTER)

    @task(traffic.WEIGHTS["list_characters"])
    def list_characters(self) -> None:
        self.client.get(f"{traffic.CHARACTERS}?limit={traffic.PAGE_LIMIT}", name=traffic.CHARACTERS)

    @task(traffic.WEIGHTS["list_campaigns"])
    def list_campaigns(self) -> None:
        self.client.get(f"{traffic.CAMPAIGNS}?limit={traffic.PAGE_LIMIT}", name=traffic.CAMPAIGNS)

    @task(traffic.WEIGHTS["list_campaign_characters"])
    def list_campaign_characters(self) -> None:
        if self.campaign_ids:
            campaign = self.rng.choice(self.campaign_ids)
            self.client.get(
                f"{traffic.CAMPAIGNS}/{campaign}/characters?limit={traffic.PAGE_LIMIT}",
                name=traffic.CAMPAIGN_CHARACTERS,
            )

    @task(traffic.WEIGHTS["write_cycle"])
    def write_cycle(self) -> None:
        if not STATE.writes:  # a production target without --allow-writes
            return
        body = traffic.new_character(STATE.owner, self.rng)
        with self.client.post(traffic.CHARACTERS, json=body, name=traffic.CHARACTERS, catch_response=True) as r:
            if r.status_code != 201:
                r.failure(f"create answered {r.status_code}")
                return
            character_id = str(r.json()["id"])
        self.created.add(character_id)
        url = f"{traffic.CHARACTERS}/{character_id}"
        self.client.patch(url, json=traffic.character_update(self.rng), name=traffic.CHARACTER)
        self.client.delete(url, name=traffic.CHARACTER)
        self.created.discard(character_id)
