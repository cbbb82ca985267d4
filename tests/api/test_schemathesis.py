"""Property-based requests generated from /openapi.json against a real server: never a 5xx.

schemathesis draws bodies, query strings and paths that fit the schema (positive) and that do
not (negative) for every operation, uploads and deletes included (on the writable server's own
index copy). A few examples each keeps this well under a minute. The operations are driven
from one plain test rather than schemathesis' pytest plugin, whose lazy fixture loading does
not work with this pytest.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

EXAMPLES = 6


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_gets_a_server_error(writable, mode):
    schema = schemathesis.openapi.from_url(f"{writable.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8, [op.label for op in operations]
    calls = []
    for operation in operations:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            response = case.call_and_validate(checks=[not_a_server_error], timeout=60)
            calls.append((operation.label, response.status_code))

        try:
            check()
        except Unsatisfiable:  # nothing to get wrong in, say, GET /healthz
            assert mode is GenerationMode.NEGATIVE, operation.label
        except Exception as exc:  # CI keeps only this output: say what the server said
            raise AssertionError(f"{operation.label} ({mode.value}): {exc!r}\n"
                                 f"server log:\n{writable.log_tail()}") from exc
    called = {label for label, _ in calls}
    print(f"\nschemathesis {mode.value}: {len(calls)} cases over {len(called)} operations, "
          f"statuses {sorted({status for _, status in calls})}")
    assert called == {op.label for op in operations} if mode is GenerationMode.POSITIVE \
        else len(called) >= 6, called
    assert any(400 <= status < 500 for _, status in calls) or mode is GenerationMode.POSITIVE
