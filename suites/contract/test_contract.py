"""Contract fuzzing: schemathesis generates valid and invalid requests from the contract file and checks every
answer of each backend (all checks: status codes, schemas, content types, negative data rejected, positive data
accepted), then walks the contract's links (create, then get, replace, patch, delete; a deleted resource must
be gone). Every operation is its own test; a failure carries the failing request as a curl line."""

from __future__ import annotations

from typing import Any

import allure
import hypothesis
import pytest
from hypothesis.control import current_build_context

from harness.config import Target
from harness.created_records import CreatedRecords, interrupts_held
from harness.fuzz.contract import load_contract
from harness.fuzz.curl import curl_line
from harness.fuzz.explain import case_violations
from harness.fuzz.profiles import FuzzProfile

schema = load_contract()


def _attach_failure(case: Any, base_url: str, headers: dict[str, str], exc: BaseException) -> None:
    """Name the operation and the fields the request breaks (for negative data), and the curl line."""
    line = curl_line(case, base_url, headers)
    invalid = case_violations(case)
    text = f"{case.operation.label}\nreproduce with: {line}"
    if invalid:
        text += "\nfields the contract does not allow in this request:\n  " + "\n  ".join(invalid)
    exc.add_note(text)
    allure.attach(text, name=f"failing request: {case.operation.label}", attachment_type=allure.attachment_type.TEXT)


def _note_created(ledger: CreatedRecords, backend: str, response: Any) -> None:
    """Fuzzing writes to a shared target: every 201 goes into the run's ledger the moment it arrives."""
    if response.status_code == 201:
        try:
            body = response.json()
        except ValueError:
            body = None
        ledger.note_answer(backend, str(response.request.url), 201, response.headers, body)


def _remove_created(ledger: CreatedRecords, target: Target, backend: str) -> None:
    """Delete what this process's tests created and have not removed yet (the fuzzer's own DELETEs count);
    what cannot be deleted now is deleted when the run ends."""
    if ledger.pending:
        with target.client(backend) as http:
            ledger.remove({backend: http})


@schema.parametrize()
def test_operation(case: Any, target: Target, backend: str, created_records: CreatedRecords) -> None:
    allure.dynamic.parameter("operation", case.operation.label)  # else Allure merges the operations' results
    base_url = target.backends[backend].url
    headers = target.auth.headers()
    with interrupts_held():  # a Ctrl-C between the target's create and the ledger would leave the record behind
        response = case.call(base_url=base_url, headers=headers, timeout=target.timeouts.read)
        _note_created(created_records, backend, response)
    try:
        case.validate_response(response, headers=headers)
    except BaseException as exc:
        if current_build_context().is_final:  # the minimal example, not each try while shrinking
            _attach_failure(case, base_url, headers, exc)
        raise
    finally:
        _remove_created(created_records, target, backend)


@pytest.mark.writes
def test_stateful_links(
    target: Target, backend: str, fuzz_profile: FuzzProfile, created_records: CreatedRecords
) -> None:
    allure.dynamic.parameter("operation", "stateful sequences through the contract's links")
    base_url = target.backends[backend].url
    headers = target.auth.headers()
    failing: list[Any] = []

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base_url, "headers": headers, "timeout": target.timeouts.read}

        def call(self, case: Any, **kwargs: Any) -> Any:
            with interrupts_held():  # the create and its note in the ledger are one step
                response = super().call(case, **kwargs)
                _note_created(created_records, backend, response)
            return response

        def validate_response(self, response: Any, case: Any, *args: Any, **kwargs: Any) -> None:
            try:
                super().validate_response(response, case, *args, **kwargs)
            except BaseException:
                failing.append(case)  # the run's last failing case is the one reported
                raise

    try:
        Workflow.run(settings=hypothesis.settings(fuzz_profile.settings))
    except BaseException as exc:
        if failing:
            _attach_failure(failing[-1], base_url, headers, exc)
        raise
    finally:
        _remove_created(created_records, target, backend)
