"""The fake server's options: one table, two front ends, one ``CODE=RATE`` parser."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from sunmi_face_async.cli import cli
from sunmi_face_async.testing.__main__ import build_parser, cloud_from_args
from sunmi_face_async.testing.options import OPTIONS, argv_for, parse_error_rate


def test_parse_error_rate_reads_code_equals_rate() -> None:
    assert parse_error_rate("5000=0.02") == (5000, 0.02)
    assert parse_error_rate("503=1") == (503, 1.0)


@pytest.mark.parametrize("text", ["5000", "x=0.1", "5000=lots", "=0.1"])
def test_parse_error_rate_names_the_form(text: str) -> None:
    with pytest.raises(ValueError, match="is not CODE=RATE"):
        parse_error_rate(text)


def test_python_m_takes_every_option_of_the_table() -> None:
    flags = {a.option_strings[0] for a in build_parser()._actions if a.option_strings}
    assert flags - {"-h"} == {option.flag for option in OPTIONS}


def test_the_cli_takes_the_options_marked_for_it() -> None:
    command = cli.commands["fake-server"]
    flags = {p.opts[0] for p in command.params if isinstance(p, click.Option)}
    assert flags == {
        "--host",
        "--port",
        "--seed",
        "--latency",
        "--jitter",
        "--error-rate",
        "--throttle-rate",
        "--drop-rate",
        "--commit-then-timeout-rate",
        "--max-faces",
        "--processing-delay",
        "--reject-rate",
    }


def test_argv_for_round_trips_through_python_m() -> None:
    argv = argv_for({"seed": 9, "latency": 0.5, "max_faces": 7, "error_rate": {5000: 0.25}})
    assert argv == [
        "--seed",
        "9",
        "--latency",
        "0.5",
        "--max-faces",
        "7",
        "--error-rate",
        "5000=0.25",
    ]
    cloud = cloud_from_args(build_parser().parse_args(argv))
    assert cloud.faults.latency == 0.5
    assert cloud.faults.error_rates == {5000: 0.25}


def test_argv_for_refuses_an_unknown_setting() -> None:
    with pytest.raises(TypeError, match="colour"):
        argv_for({"colour": "blue"})


def test_both_front_ends_refuse_a_bad_error_rate_the_same_way(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--error-rate", "5000"])
    assert "'5000' is not CODE=RATE" in capsys.readouterr().err
    result = CliRunner().invoke(cli, ["fake-server", "--error-rate", "5000"])
    assert result.exit_code == 2
    assert "'5000' is not CODE=RATE" in result.output


def test_python_m_checks_the_ranges_of_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--drop-rate", "1.5"])
    assert "'1.5' is above 1" in capsys.readouterr().err
