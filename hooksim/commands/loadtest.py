"""`hooksim load`, `hooksim check`, `hooksim predict`: will the platform pause or stop my endpoint?

Thin: parse and check the options (one-line errors, exit 2), run the package code in
:mod:`loadtest` and :mod:`endpoint_check`, print with rich. Exit codes: 0 never stopped / every
check passed, 1 stopped (or paused, with --fail-on pause) / a check failed, 2 bad usage. --junit
writes the same outcomes as JUnit XML (:mod:`hooksim.commands.junit`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from collections.abc import Callable
from typing import Any

from hooksim.errors import UsageError


def register(commands: argparse._SubParsersAction) -> None:
    from dispatcher import events as catalogue

    load = commands.add_parser(
        "load", help="load-test an endpoint against the platform's back-off, in compressed time",
        description="Send events to URL with hooksim's real dispatcher (delivery, retries, "
        "pause/stop) at RATE for DURATION of platform time, compressed by --time-scale; print "
        "what the platform would do. Exit 0 if never stopped, 1 if stopped (--fail-on pause: "
        "if paused), 2 on bad usage.")
    _endpoint_options(load, "wall seconds to connect and to read (the platform's 2 s)")
    load.add_argument("--time-scale", type=float, default=None,
                      help="the most platform seconds per wall second (default: as fast as "
                      "exactness allows: idle waits are skipped, attempts in flight take real "
                      "time); the verdict is the same at any scale")
    load.add_argument("--db", metavar="PATH", help="keep the run in this SQLite file "
                      "(default: a temporary one)")
    load.add_argument("--plot", metavar="PATH", help="write a timeline picture (.png or .svg)")
    _scenario_options(load, catalogue.categories(), duration="15m")
    disorder = load.add_argument_group(
        "disorder on purpose", "copies of deliveries as Toast's retries make them, drawn from --seed")
    disorder.add_argument("--duplicates", metavar="RATE", default="0",
                          help="share of deliveries sent twice (same GUID, same bytes): 0.05 or 5%%")
    disorder.add_argument("--duplicate-within", metavar="DURATION", default="60s",
                          help="the copy is due up to this long after the original (default 60s)")
    disorder.add_argument("--reorder-window", metavar="DURATION", default="0s",
                          help="each delivery is due 0 to this long late, so neighbours swap")
    disorder.add_argument("--late", metavar="RATE", default="0",
                          help="share of events delivered once more --late-after later")
    disorder.add_argument("--late-after", metavar="DURATION", default="10m",
                          help="how late (default 10m: Toast's last retry)")
    load.set_defaults(handler=_load)

    check = commands.add_parser(
        "check", help="probe an endpoint against the platform's documented expectations",
        description="One pass/fail line per expectation, with evidence: the happy path, and "
        "the signatures a correct verifier must refuse. Exit 0 if every check passed (skipped "
        "ones aside), 1 if one failed, 2 on bad usage.")
    _endpoint_options(check, "how long an answer may take (the platform's 2 s)")
    check.add_argument("--previous-secret", metavar="SECRET",
                       help="the secret before the last rotation: the endpoint must refuse it")
    check.add_argument("--report", metavar="PATH", help="write the results as JSON")
    _junit_option(check, "one test case per check")
    check.set_defaults(handler=_check)

    predict = commands.add_parser(
        "predict", help="simulate the back-off against a model endpoint (no HTTP)",
        description="Run the platform's retry and back-off rules as a discrete-event simulation "
        "against an endpoint that fails --error-rate of requests and answers in --latency-ms. "
        "Exit 0 if never stopped, 1 if any subscription stopped (--fail-on pause: paused), "
        "2 on bad usage.")
    predict.add_argument("--subscriptions", default="1", metavar="N",
                         help="subscriptions, each with its own back-off and its own events at "
                         "--rate, sharing --concurrency (default 1)")
    predict.add_argument("--error-rate", required=True, help="share of failing requests: 0.15 or 15%%")
    predict.add_argument("--latency-ms", type=float, default=300.0,
                         help="the endpoint's answer time in ms (at or over --timeout: a timeout)")
    predict.add_argument("--error-status", type=int, default=500, help="status of a failure")
    predict.add_argument("--timeout", type=float, default=2.0, metavar="SECONDS",
                         help="the platform's read timeout")
    _scenario_options(predict, catalogue.categories(), duration="1h")
    predict.set_defaults(handler=_predict)


def _endpoint_options(parser: argparse.ArgumentParser, timeout_help: str) -> None:
    parser.add_argument("--url", required=True, help="the endpoint to test")
    parser.add_argument("--secret", required=True, help="the secret the endpoint verifies with")
    parser.add_argument("--timeout", type=float, default=2.0, metavar="SECONDS", help=timeout_help)


def _scenario_options(parser: argparse.ArgumentParser, categories: tuple[str, ...],
                      duration: str) -> None:
    parser.add_argument("--category", choices=categories, default="stock")
    parser.add_argument("--rate", default="20/s", help="events per platform time: 20/s, 600/min")
    parser.add_argument("--duration", default=duration, help=f"platform time: 90s, 15m, 1h (default {duration})")
    parser.add_argument("--concurrency", type=int, default=64, help="attempts in flight at most")
    parser.add_argument("--seed", type=int, default=0, help="seed for events and random failures")
    parser.add_argument("--preset", choices=["current", "legacy"], default="current",
                        help="back-off rules: current (50 errors/5 min, 9 pauses/10 min) or legacy")
    parser.add_argument("--report", metavar="PATH", help="write the report as JSON")
    _junit_option(parser, "one test case per platform rule: pause, stop (and load's timing)")
    parser.add_argument("--fail-on", choices=["stop", "pause"], default="stop",
                        help="exit 1 when the endpoint is stopped (default) or already when paused")


def _junit_option(parser: argparse.ArgumentParser, cases: str) -> None:
    parser.add_argument("--junit", metavar="PATH", help=f"write JUnit XML for CI: {cases}")


def _scenario(args: argparse.Namespace) -> Any:
    from loadtest.scenario import (Scenario, ScenarioError, parse_count, parse_duration,
                                   parse_rate)

    try:
        subscriptions = parse_count(getattr(args, "subscriptions", "1"), "--subscriptions")
        scenario = Scenario(parse_rate(args.rate), parse_duration(args.duration), args.category,
                            args.preset, args.seed, subscriptions)
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None
    _positive(concurrency=args.concurrency, timeout=args.timeout)
    return scenario


def _disorder(args: argparse.Namespace) -> Any:
    from dispatcher.settings import DisorderSettings
    from loadtest.scenario import ScenarioError, parse_fraction

    try:
        return DisorderSettings(
            duplicate_rate=parse_fraction(args.duplicates, "--duplicates"),
            duplicate_within=_duration_or_zero(args.duplicate_within, "--duplicate-within"),
            reorder_window=_duration_or_zero(args.reorder_window, "--reorder-window"),
            late_rate=parse_fraction(args.late, "--late"),
            late_after=_duration_or_zero(args.late_after, "--late-after"), seed=args.seed)
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None


def _duration_or_zero(text: str, name: str) -> float:
    from loadtest.scenario import ScenarioError, parse_duration

    try:
        return 0.0 if text.strip() in ("0", "0s") else parse_duration(text)
    except ScenarioError as exc:
        raise UsageError(f"{name}: {exc}") from None


def _positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise UsageError(f"--{name.replace('_', '-')} must be positive, got {value}")


def _quiet_logs() -> None:
    from hooksim.logs import configure_logging

    configure_logging("warning")   # per-attempt info lines would drown the summary


def _load(args: argparse.Namespace) -> int:
    from dispatcher.errors import InvalidInput
    from loadtest.plot import check_plot_path
    from loadtest.run import Live, LoadOptions, run_load
    from hooksim.commands.loadtest_view import LiveView
    from storage import StorageError

    scenario = _scenario(args)
    if args.time_scale is not None:
        _positive(time_scale=args.time_scale)
    if args.plot:
        try:
            check_plot_path(args.plot)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    options = LoadOptions(args.url, args.secret, scenario, args.time_scale, args.concurrency,
                          args.timeout, args.db, disorder=_disorder(args))
    _quiet_logs()
    live = Live()

    async def main() -> Any:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, stop.set)   # Ctrl-C ends the run, keeps the summary
        try:
            with LiveView(scenario.duration) as view:
                return await run_load(options, live=live, stop=stop, on_tick=view.update)
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    started = time.perf_counter()
    try:
        report = asyncio.run(main())
    except (InvalidInput, StorageError) as exc:   # a bad --url, an unusable --db
        raise UsageError(str(exc)) from None
    return _finish(report, args, time.perf_counter() - started)


def _predict(args: argparse.Namespace) -> int:
    from dispatcher.backoff import PRESETS
    from loadtest.predict import Model, predict
    from loadtest.scenario import ScenarioError, parse_fraction

    scenario = _scenario(args)
    try:
        error_rate = parse_fraction(args.error_rate, "--error-rate")
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None
    if args.latency_ms < 0 or not 100 <= args.error_status <= 599:
        raise UsageError("--latency-ms must be 0 or more and --error-status 100-599")
    model = Model(error_rate, args.latency_ms / 1000, args.error_status, args.timeout,
                  args.concurrency)
    started = time.perf_counter()
    report = predict(scenario, model, PRESETS[args.preset])
    return _finish(report, args, time.perf_counter() - started)


def _finish(report: Any, args: argparse.Namespace, wall_seconds: float) -> int:
    from hooksim.commands.loadtest_view import print_summary

    if args.report:
        _write(args.report, lambda fh: json.dump(report.data, fh, indent=2))
    if getattr(args, "plot", None):
        from loadtest.plot import write_plot

        try:
            write_plot(report.data, args.plot)
        except OSError as exc:
            raise UsageError(f"cannot write {args.plot}: {exc.strerror}") from None
    if args.junit:
        _write_junit(args.junit, f"hooksim {args.command}", _rule_cases(report.data),
                     wall_seconds, _scenario_properties(report.data))
    print_summary(report.data)
    failing = report.stopped or (args.fail_on == "pause" and bool(report.data["pauses"]))
    return 1 if failing else 0


def _rule_cases(data: dict[str, Any]) -> list[Any]:
    from hooksim.commands.junit import Case
    from loadtest.report import rule_outcomes

    return [Case(o.name, "error" if o.undecided else "passed" if o.passed else "failed", o.text)
            for o in rule_outcomes(data)]


def _scenario_properties(data: dict[str, Any]) -> dict[str, str]:
    keys = ("url", "category", "preset", "ratePerSecond", "duration", "subscriptions")
    return {key: str(data[key]) for key in keys if data.get(key) is not None}


def _write_junit(path: str, suite: str, cases: list[Any], seconds: float,
                 properties: dict[str, str]) -> None:
    from hooksim.commands.junit import document

    xml = document(suite, cases, seconds=seconds, properties=properties)
    _write(path, lambda fh: fh.write(xml.decode("utf-8")))


def _check(args: argparse.Namespace) -> int:
    from endpoint_check.probe import run_checks
    from dispatcher.service import check_url
    from dispatcher.errors import InvalidInput
    from hooksim.commands.loadtest_view import print_check

    _positive(timeout=args.timeout)
    try:
        check_url(args.url, block_private_networks=False)
    except InvalidInput as exc:
        raise UsageError(str(exc)) from None
    results = asyncio.run(run_checks(args.url, args.secret, previous_secret=args.previous_secret,
                                     timeout=args.timeout, on_result=print_check))
    passed = all(r.passed for r in results)
    if args.junit:
        from hooksim.commands.junit import Case

        cases = [Case(r.name, "skipped" if r.skipped else "passed" if r.passed else "failed",
                      r.evidence, r.seconds) for r in results]
        _write_junit(args.junit, "hooksim check", cases, sum(r.seconds for r in results),
                     {"url": args.url})
    ran = [r for r in results if not r.skipped]
    skipped = len(results) - len(ran)
    print(f"{sum(r.passed for r in ran)}/{len(ran)} checks passed"
          + (f", {skipped} skipped" if skipped else ""))
    if args.report:
        _write(args.report, lambda fh: json.dump(
            {"url": args.url, "passed": passed,
             "checks": [{"name": r.name, "passed": r.passed, "skipped": r.skipped,
                         "evidence": r.evidence} for r in results]}, fh, indent=2))
    return 0 if passed else 1


def _write(path: str, write: Callable[[Any], None]) -> None:
    try:
        with open(path, "w", encoding="utf-8") as fh:
            write(fh)
            fh.write("\n")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None

