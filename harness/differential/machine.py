"""The differential state machine: the same random sequence of operations (create, replace, patch, delete, list,
campaign moves) applied to two backends, every pair of responses compared after normalisation. A divergence is
raised as ``Divergence`` and hypothesis shrinks the sequence, so what is reported is a minimal reproducing one,
naming the operation and the field."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    multiple,
    rule,
    run_state_machine_as_test,
)

from ..created_records import CreatedRecords, Removal, interrupts_held
from ..field_diff import FieldDifference, field_differences
from ..fuzz.profiles import FuzzProfile
from ..redaction import redact
from .ids import IdPairs
from .noise import DECLARED, Noise, learn_noise
from .normalize import normalize_listing, normalize_response
from .strategies import (
    IF_MATCH,
    MISSING_ID,
    PATCH_TYPES,
    SAMPLE_CAMPAIGN,
    SAMPLE_CHARACTER,
    STATUSES,
    campaign_bodies,
    character_bodies,
    character_patches,
)

MAX_PAGES = 25  # a listing walk stops here whatever the backends answer (bounded loops)
_Json = Any


@dataclass(frozen=True)
class Step:
    """One request of a sequence, written with id symbols; it is realised per backend when sent."""

    operation: str
    method: str
    path: str
    params: dict[str, Any] | None = None
    body: _Json = None
    headers: dict[str, str] | None = None
    content_type: str = "application/json"
    creates: str | None = None  # the kind of resource a successful answer creates
    listing: bool = False  # walk every page and compare the folded listing
    only_paired: bool = False  # a listing of everything: compare only what this run made (see normalize_listing)
    symbol: str | None = None  # set on the recorded copy of a creation that succeeded on both backends

    def describe(self) -> str:
        query = "?" + "&".join(f"{k}={v}" for k, v in self.params.items()) if self.params else ""
        extra = "".join(f" [{k}: {v}]" for k, v in (self.headers or {}).items())
        if self.body is not None and self.content_type != "application/json":
            extra += f" [content-type: {self.content_type}]"
        body = f" {json.dumps(self.body)}" if self.body is not None else ""
        made = f" -> {self.symbol}" if self.symbol else ""
        return redact(f"{self.operation} {self.method} {self.path}{query}{extra}{body}{made}")


class Divergence(AssertionError):
    """Two backends answered one request differently (beyond noise)."""

    def __init__(
        self,
        step: Step,
        differences: list[FieldDifference],
        steps: list[Step],
        sides: tuple[str, str],
        note: str = "minimal once hypothesis has shrunk it",
    ) -> None:
        self.operation = step.operation
        self.step = step
        self.differences = differences
        self.steps = list(steps)
        self.sides = sides
        self.fields = [d.field for d in differences]
        lines = [f"backends diverge on {step.operation} ({step.method} {step.path})"]
        lines += [f"  {d.describe(sides)}" for d in differences[:20]]
        if len(differences) > 20:
            lines.append(f"  ... and {len(differences) - 20} more field(s)")
        lines.append(f"sequence ({len(steps)} request(s); {note}):")
        lines += [f"  {i}. {s.describe()}" for i, s in enumerate(steps, 1)]
        super().__init__("\n".join(lines))


class Duo:
    """Sends each step to both backends and compares the answers."""

    def __init__(
        self, clients: Mapping[str, httpx.Client], noise: Noise, pairs: IdPairs, ledger: CreatedRecords | None = None
    ) -> None:
        if len(clients) != 2:
            raise ValueError(f"differential testing needs exactly two backends, got {', '.join(clients) or 'none'}")
        self.clients = clients
        self.sides: tuple[str, str] = tuple(clients)  # type: ignore[assignment]
        self.noise = noise
        self.pairs = pairs
        self.ledger = ledger if ledger is not None else CreatedRecords()  # every 201 on either side

    def send(self, side: str, step: Step, params: dict[str, Any] | None = None) -> httpx.Response:
        headers = dict(step.headers or {})
        content = None
        if step.body is not None:
            real = self.pairs.realize(side, step.body)
            content = real if isinstance(real, str) else json.dumps(real)
            headers["content-type"] = step.content_type
        with interrupts_held():  # a Ctrl-C between the target's create and the ledger would leave the record behind
            response = self.clients[side].request(
                step.method,
                self.pairs.realize(side, step.path),
                params=step.params if params is None else params,
                headers=headers,
                content=content,
            )
            self.ledger.note_httpx(side, response)  # also what only one side created: a divergence, still removed
        return response

    def walk(self, side: str, step: Step) -> list[httpx.Response]:
        pages: list[httpx.Response] = []
        params = dict(step.params or {})
        for _ in range(MAX_PAGES):
            page = self.send(side, step, params)
            pages.append(page)
            cursor = page.json().get("next_cursor") if page.status_code == 200 else None
            if not cursor:
                break
            params["cursor"] = cursor
        return pages

    def execute(self, step: Step) -> tuple[Step, list[FieldDifference]]:
        """Run ``step`` on both backends; returns the step as recorded (with the symbol of what it created,
        reusing ``step.symbol`` when replaying) and the differences found."""
        documents: dict[str, dict[str, Any]] = {}
        if step.listing:
            walks = {side: self.walk(side, step) for side in self.sides}
            for side, pages in walks.items():
                documents[side] = normalize_listing(pages, side=side, pairs=self.pairs, only_paired=step.only_paired)
            if step.only_paired and not all(_walked_to_the_end(pages) for pages in walks.values()):
                # a listing of everything too long for MAX_PAGES: where this run's items fall differs per
                # backend (their ids differ), so only the status and the order can be compared
                for document in documents.values():
                    document["body"] = f"more than {MAX_PAGES} pages: items not compared"
        else:
            responses = {side: self.send(side, step) for side in self.sides}
            if step.creates and all(r.status_code == 201 for r in responses.values()):
                ids = {side: r.json()["id"] for side, r in responses.items()}
                step = replace(step, symbol=self.pairs.pair(step.creates, ids, step.symbol))
            documents = {s: normalize_response(r, side=s, pairs=self.pairs) for s, r in responses.items()}
        left, right = (self.noise.mask(documents[s]) for s in self.sides)
        return step, field_differences(left, right)

    def clean_up(self, created: list[Step]) -> None:
        """Delete what ``created`` made, characters first (a campaign with members cannot be deleted)."""
        for made in sorted(created, key=lambda c: c.path != "/characters"):
            for side in self.sides:
                with contextlib.suppress(httpx.HTTPError):
                    self.clients[side].delete(self.pairs.realize(side, f"{made.path}/{made.symbol}"))

    def remove_everything(self, owners: list[str]) -> Removal:
        """At the end of a run: delete what the ledger still lists, and any character the run's owners hold
        (a tagged listing catches a creation whose answer was lost)."""
        for owner in owners:
            for side, client in self.clients.items():
                with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                    cursor = None
                    for _ in range(MAX_PAGES):
                        params: dict[str, Any] = {
                            "owner": owner,
                            "limit": 200,
                            **({"cursor": cursor} if cursor else {}),
                        }
                        page = client.get("/characters", params=params).json()
                        for item in page["items"]:
                            url = client.build_request("DELETE", f"/characters/{item['id']}").url
                            self.ledger.note(side, str(url))
                        cursor = page["next_cursor"]
                        if not cursor:
                            break
        return self.ledger.remove(self.clients)


def _walked_to_the_end(pages: list[httpx.Response]) -> bool:
    last = pages[-1]
    return last.status_code != 200 or not last.json().get("next_cursor")


def minimise(duo: Duo, found: Divergence, *, max_replays: int = 200) -> Divergence:
    """Hypothesis's stateful shrinker keeps steps that cannot matter (the first step is forced, for one); drop
    steps one at a time, replaying the rest on both backends, while the same operation still diverges on the
    same fields. Bounded by ``max_replays`` replays."""
    target = (found.operation, tuple(found.fields))
    steps = found.steps
    best = found
    replays = 0

    def replay(candidate: list[Step]) -> Divergence | None:
        created: list[Step] = []
        try:
            for i, step in enumerate(candidate):
                done, differences = duo.execute(step)
                if done.symbol:
                    created.append(done)
                if differences:
                    if (step.operation, tuple(d.field for d in differences)) == target:
                        return Divergence(step, differences, candidate[: i + 1], duo.sides, "minimal")
                    return None
            return None
        finally:
            duo.clean_up(created)

    changed = True
    while changed and replays < max_replays:
        changed = False
        for i in range(len(steps) - 1):  # the last step is where the divergence shows: keep it
            if replays >= max_replays:
                break
            replays += 1
            smaller = replay(steps[:i] + steps[i + 1 :])
            if smaller is not None:
                steps, best, changed = smaller.steps, smaller, True
                break
    if best is found:  # nothing could be dropped: say so rather than claim the shrinker's word
        return Divergence(found.step, found.differences, found.steps, found.sides, "minimal")
    return best


@dataclass
class MachineOptions:
    max_name: int = 100  # the contract's limit
    invalid_inputs: bool = True
    unfiltered_listings: bool = True  # also walk the listings of everything (compared on this run's items)
    owner_prefix: str = field(default_factory=lambda: f"diff{uuid.uuid4().hex[:8]}")


@dataclass
class RunStats:
    examples: int = 0
    requests: Counter[str] = field(default_factory=Counter)  # operation -> requests sent to EACH backend


def build_machine(duo: Duo, options: MachineOptions, stats: RunStats) -> type[RuleBasedStateMachine]:
    """A machine class bound to two backends (``duo``, with one ``IdPairs`` for the whole run, so ids made by
    earlier examples stay recognisable)."""
    owners = [f"{options.owner_prefix}-a", f"{options.owner_prefix}-b"]
    invalid = options.invalid_inputs
    characters_st = character_bodies(owners, options.max_name, invalid)
    patches_st = character_patches(owners, options.max_name, invalid)
    campaigns_st = campaign_bodies(options.max_name, invalid)
    valid_characters_st = character_bodies(owners, options.max_name, False)
    valid_campaigns_st = campaign_bodies(options.max_name, False)

    class DifferentialMachine(RuleBasedStateMachine):
        characters = Bundle("characters")
        campaigns = Bundle("campaigns")

        def __init__(self) -> None:
            super().__init__()
            self.steps: list[Step] = []
            self.created: list[Step] = []
            stats.examples += 1

        def call(self, step: Step) -> str | None:
            """Send one request to both backends and compare; returns the symbol of what it created (None when
            the backends did not both create)."""
            stats.requests[step.operation] += 1
            done, differences = duo.execute(step)
            self.steps.append(done)
            if done.symbol:
                self.created.append(done)
            if differences:
                raise Divergence(done, differences, self.steps, duo.sides)
            return done.symbol

        def create(self, step: Step) -> Any:
            symbol = self.call(step)
            return symbol if symbol else multiple()

        @staticmethod
        def version_headers(if_match: str | None) -> dict[str, str] | None:
            return {"If-Match": if_match} if if_match is not None else None

        def teardown(self) -> None:
            duo.clean_up(self.created)  # leave the target as it was

        # --- a campaign and a character to start from (the minimiser drops them when they do not matter) ----

        @initialize(target=campaigns, body=valid_campaigns_st)
        def start_campaign(self, body: dict[str, Any]) -> Any:
            return self.create(Step("createCampaign", "POST", "/campaigns", body=body, creates="campaign"))

        @initialize(target=characters, body=valid_characters_st)
        def start_character(self, body: dict[str, Any]) -> Any:
            return self.create(Step("createCharacter", "POST", "/characters", body=body, creates="character"))

        # --- campaigns --------------------------------------------------------------------

        @rule(target=campaigns, body=campaigns_st)
        def create_campaign(self, body: dict[str, Any]) -> Any:
            return self.create(Step("createCampaign", "POST", "/campaigns", body=body, creates="campaign"))

        @rule(campaign=campaigns)
        def get_campaign(self, campaign: str) -> None:
            self.call(Step("getCampaign", "GET", f"/campaigns/{campaign}"))

        @rule(campaign=campaigns, body=campaigns_st, if_match=st.sampled_from(IF_MATCH))
        def replace_campaign(self, campaign: str, body: dict[str, Any], if_match: str | None) -> None:
            headers = self.version_headers(if_match)
            self.call(Step("replaceCampaign", "PUT", f"/campaigns/{campaign}", body=body, headers=headers))

        @rule(campaign=campaigns, status=st.sampled_from(STATUSES), content_type=st.sampled_from(PATCH_TYPES))
        def patch_campaign(self, campaign: str, status: str, content_type: str) -> None:
            path = f"/campaigns/{campaign}"
            self.call(Step("patchCampaign", "PATCH", path, body={"status": status}, content_type=content_type))

        @rule(campaign=campaigns, if_match=st.sampled_from(IF_MATCH))
        def delete_campaign(self, campaign: str, if_match: str | None) -> None:
            self.call(
                Step("deleteCampaign", "DELETE", f"/campaigns/{campaign}", headers=self.version_headers(if_match))
            )

        @rule(limit=st.sampled_from([2, 200]))
        def list_campaigns(self, limit: int) -> None:
            if options.unfiltered_listings:
                self.call(
                    Step("listCampaigns", "GET", "/campaigns", params={"limit": limit}, listing=True, only_paired=True)
                )

        @rule(campaign=campaigns, limit=st.integers(1, 3))
        def list_campaign_characters(self, campaign: str, limit: int) -> None:
            path = f"/campaigns/{campaign}/characters"
            self.call(Step("listCampaignCharacters", "GET", path, params={"limit": limit}, listing=True))

        # --- characters -------------------------------------------------------------------

        @rule(target=characters, body=characters_st)
        def create_character(self, body: dict[str, Any]) -> Any:
            return self.create(Step("createCharacter", "POST", "/characters", body=body, creates="character"))

        @rule(target=characters, body=characters_st, campaign=campaigns)
        def create_character_in_campaign(self, body: dict[str, Any], campaign: str) -> Any:
            body = {**body, "campaign_id": campaign}
            return self.create(Step("createCharacter", "POST", "/characters", body=body, creates="character"))

        @rule(
            raw=st.sampled_from(["{", "[]", "null"]), content_type=st.sampled_from(["application/json", "text/plain"])
        )
        def create_character_malformed(self, raw: str, content_type: str) -> None:
            self.call(Step("createCharacter", "POST", "/characters", body=raw, content_type=content_type))

        @rule(character=characters)
        def get_character(self, character: str) -> None:
            self.call(Step("getCharacter", "GET", f"/characters/{character}"))

        @rule(raw=st.sampled_from([MISSING_ID, "not-a-uuid"]))
        def get_character_unknown(self, raw: str) -> None:
            self.call(Step("getCharacter", "GET", f"/characters/{raw}"))

        @rule(
            character=characters,
            body=characters_st,
            if_match=st.sampled_from(IF_MATCH),
            version=st.one_of(st.none(), st.integers(1, 3)),
        )
        def replace_character(
            self, character: str, body: dict[str, Any], if_match: str | None, version: int | None
        ) -> None:
            body = body if version is None else {**body, "version": version}
            headers = self.version_headers(if_match)
            self.call(Step("replaceCharacter", "PUT", f"/characters/{character}", body=body, headers=headers))

        @rule(
            character=characters,
            patch=patches_st,
            if_match=st.sampled_from(IF_MATCH),
            content_type=st.sampled_from(PATCH_TYPES),
        )
        def patch_character(
            self, character: str, patch: dict[str, Any], if_match: str | None, content_type: str
        ) -> None:
            headers = self.version_headers(if_match)
            path = f"/characters/{character}"
            self.call(Step("patchCharacter", "PATCH", path, body=patch, headers=headers, content_type=content_type))

        @rule(character=characters, campaign=st.one_of(st.none(), campaigns))
        def move_character(self, character: str, campaign: str | None) -> None:
            """A campaign move: into one of the run's campaigns (possibly deleted: 409), or out of any (null)."""
            self.call(Step("patchCharacter", "PATCH", f"/characters/{character}", body={"campaign_id": campaign}))

        @rule(character=characters, if_match=st.sampled_from(IF_MATCH))
        def delete_character(self, character: str, if_match: str | None) -> None:
            headers = self.version_headers(if_match)
            self.call(Step("deleteCharacter", "DELETE", f"/characters/{character}", headers=headers))

        @rule(owner=st.sampled_from(owners), limit=st.integers(1, 3))
        def list_owned_characters(self, owner: str, limit: int) -> None:
            self.call(
                Step("listCharacters", "GET", "/characters", params={"owner": owner, "limit": limit}, listing=True)
            )

        @rule(limit=st.sampled_from([50, 200]))
        def list_all_characters(self, limit: int) -> None:
            if options.unfiltered_listings:
                self.call(
                    Step(
                        "listCharacters", "GET", "/characters", params={"limit": limit}, listing=True, only_paired=True
                    )
                )

    return DifferentialMachine


@dataclass
class DifferentialReport:
    sides: tuple[str, ...]
    profile: str
    seed: int
    noise: Noise
    stats: RunStats
    seconds: float
    removal: Removal | None = None

    def summary(self) -> str:
        ops = ", ".join(f"{op} {n}" for op, n in sorted(self.stats.requests.items()))
        return (
            f"differential {' vs '.join(self.sides)}: no divergence in {self.stats.examples} sequences "
            f"({sum(self.stats.requests.values())} requests per backend; {ops}) in {self.seconds:.1f}s, "
            f"profile {self.profile}, seed {self.seed}; {self.noise.describe()}"
            + (f"; {self.removal.summary()}" if self.removal else "")
        )


def run_differential(
    clients: Mapping[str, httpx.Client],
    profile: FuzzProfile,
    *,
    declared_noise: tuple[str, ...] = tuple(DECLARED),
    learn: bool = True,
    options: MachineOptions | None = None,
    max_examples: int | None = None,
    ledger: CreatedRecords | None = None,
) -> DifferentialReport:
    """Learn the noise on the baseline (first) backend, then run the machine; raises ``Divergence`` (with the
    minimal sequence) when the backends answer differently. Whatever the run created is deleted at its end,
    divergence or not (``ledger``: the caller's, e.g. the pytest run's, so an interrupted run is cleaned too)."""
    options = options or MachineOptions()
    baseline = next(iter(clients.values()))
    noise = Noise.declare(declared_noise)
    if learn:
        noise = noise | learn_noise(
            baseline, [("campaign", "/campaigns", SAMPLE_CAMPAIGN), ("character", "/characters", SAMPLE_CHARACTER)]
        )
    stats = RunStats()
    duo = Duo(clients, noise, IdPairs(), ledger)
    machine = build_machine(duo, options, stats)
    hypothesis_seed(profile.seed)(machine)
    run_settings = profile.settings if max_examples is None else _with_examples(profile, max_examples)
    started = time.perf_counter()
    try:
        run_state_machine_as_test(machine, settings=run_settings)
    except Divergence as found:
        raise minimise(duo, found) from found
    finally:
        removal = duo.remove_everything([f"{options.owner_prefix}-a", f"{options.owner_prefix}-b"])
    seconds = time.perf_counter() - started
    return DifferentialReport(tuple(clients), profile.name, profile.seed, noise, stats, seconds, removal)


def _with_examples(profile: FuzzProfile, max_examples: int) -> Any:
    from hypothesis import settings

    return settings(profile.settings, max_examples=max_examples)
