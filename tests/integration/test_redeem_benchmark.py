"""The redeem benchmark itself: on PostgreSQL it runs end to end through a real server and checks what it wrote;
on SQLite it refuses, saying why."""

from __future__ import annotations

from pathlib import Path

import pytest

from canasta.benchmarks import redeem
from canasta.config import Settings
from canasta.domain.errors import ValidationError


def test_the_benchmark_refuses_sqlite_and_says_why(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="PostgreSQL") as refused:
        redeem.run(Settings(database_url=f"sqlite:///{tmp_path / 'canasta.db'}"), 10)
    assert refused.value.field == "database_url"


@pytest.mark.postgres
@pytest.mark.slow
def test_the_benchmark_runs_end_to_end_and_checks_the_ledger(postgres_server: str, tmp_path: Path) -> None:
    result = redeem.run(Settings(database_url=postgres_server), 40, concurrency=4, workers=1, profile=str(tmp_path))
    assert result["name"] == "redeem"
    assert (result["size"], result["concurrency"], result["workers"]) == (40, 4, 1)
    assert result["errors"] == 0
    assert result["refused"] == {}
    assert result["redemptions_stored"] == 40 + result["warmup"]  # the warm-up redeems too
    assert result["ledger"] == "consistent"
    assert result["failures_recorded"] == 0
    assert result["rate"] > 0
    assert result["baseline_rate"] > 0
    assert result["p50_ms"] <= result["p99_ms"]
    assert result["ratio"] == pytest.approx(result["rate"] / result["baseline_rate"], rel=0.05)  # both rounded
    profile = result["profile"]["redemption"]
    assert profile["requests"] == result["redemptions_stored"]
    shapes = profile["shapes_per_request"]
    assert shapes["INSERT redemptions"] == 1  # one claim per redemption
    assert shapes["SELECT canasta_post()"] == 1  # the posting: its balances and transfers in one statement
    assert "UPDATE ledger_balances" not in shapes
    assert sorted(path.suffix for path in tmp_path.iterdir()) == [".json", ".pstats"]


@pytest.mark.postgres
@pytest.mark.slow
def test_the_access_log_is_compared_on_and_off_in_one_run(postgres_server: str) -> None:
    result = redeem.run(Settings(database_url=postgres_server), 40, concurrency=4, workers=1, audit="both")
    assert (result["access_log"], result["errors"], result["ledger"]) == ("both", 0, "consistent")
    assert result["redemptions_stored"] == 2 * 40 + result["warmup"]  # each server redeemed its own households
    warm_on = result["warmup"] // 2
    assert result["access_log_entries"] == 40 + warm_on  # one entry per redemption, only on the server that logs
    assert result["access_log_off_rate"] > 0
    assert result["access_log_ratio"] == pytest.approx(result["rate"] / result["access_log_off_rate"], rel=0.05)
