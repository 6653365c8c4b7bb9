"""The operations CLI: ``python -m shared.ops <service> <command>``, with the service's own environment
(``DATABASE_URL``, ``KAFKA_*``, ``CONSUMER_GROUP``, ``KETALINK_RETENTION_*``).

    dead-letters list [--limit N] [--include-settled]
    dead-letters show <dlq-topic>:<partition>:<offset> [--payload]
    dead-letters replay (<ref> ... | --all) --reason TEXT [--apply]     (a dry run without --apply)
    dead-letters discard <ref> --reason TEXT
    held list | held release <id> --reason TEXT | held discard <id> --reason TEXT
    outbox                                                              (backlog and oldest-unsent age)
    prune [--apply]                                                     (a dry run without --apply: counts)

Output is ids, reasons and counts; a record's payload (it may hold PHI) only with ``show --payload``. The actor of
every audited action is ``cli:<os user>@<host>``. Exit 0 on success, 1 when a dependency fails (broker, database),
2 on bad usage (an unknown record, a missing reason, a bad setting)."""
from __future__ import annotations

import argparse
import getpass
import os
import socket
import sys
from collections.abc import Sequence
from typing import TextIO

from kafka.errors import KafkaError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from shared.config import SettingsError, load_settings
from shared.db import create_database, utcnow
from shared.events.kafka_clients import KafkaSettings
from shared.events.topics import ACCESS
from shared.ops import held as held_ops
from shared.ops.actions import OpsService
from shared.ops.audit import OpsUsageError, checked_reason
from shared.ops.dead_letters import DeadLetter, DeadLetterRef
from shared.ops.prune import prune
from shared.ops.settings import RetentionSettings
from shared.runtime import ServiceSettings

SERVICES = tuple(sorted(name for name in ACCESS if name != "ehr"))  # the EHR's engine keeps no store of ours


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # the usage and the message, exit 2, never a traceback
        self.print_usage(sys.stderr)
        raise OpsUsageError(message)


def parser() -> argparse.ArgumentParser:
    root = _Parser(prog="python -m shared.ops", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    root.add_argument("service", choices=SERVICES)
    area = root.add_subparsers(dest="area", required=True, parser_class=_Parser)

    letters = area.add_parser("dead-letters", help="the service's dead-lettered records").add_subparsers(
        dest="command", required=True, parser_class=_Parser)
    listing = letters.add_parser("list", help="waiting dead letters, oldest first (ids and reasons only)")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--include-settled", action="store_true", help="also those replayed or discarded")
    show = letters.add_parser("show", help="one dead letter's ids and reason")
    show.add_argument("ref")
    show.add_argument("--payload", action="store_true", help="also print the record's payload (may hold PHI)")
    replay = letters.add_parser("replay", help="send dead letters back to their source topic")
    replay.add_argument("refs", nargs="*", default=[], metavar="ref")
    replay.add_argument("--all", action="store_true", help="every waiting dead letter (instead of refs)")
    replay.add_argument("--reason", required=True)
    replay.add_argument("--apply", action="store_true", help="replay (without it: say what would be replayed)")
    discard = letters.add_parser("discard", help="set a dead letter aside for good (audited)")
    discard.add_argument("ref")
    discard.add_argument("--reason", required=True)

    held = area.add_parser("held", help="records set aside after failing again and again").add_subparsers(
        dest="command", required=True, parser_class=_Parser)
    held.add_parser("list")
    for name in ("release", "discard"):
        action = held.add_parser(name)
        action.add_argument("held_id", type=int)
        action.add_argument("--reason", required=True)

    area.add_parser("outbox", help="events not yet acknowledged by the broker, and the oldest one's age")
    pruning = area.add_parser("prune", help="delete bookkeeping rows past their retention (KETALINK_RETENTION_*)")
    pruning.add_argument("--apply", action="store_true", help="delete (without it: count)")
    return root


def cli_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid-{os.getuid()}"
    return f"cli:{user}@{socket.gethostname()}"


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        args = parser().parse_args(argv)
        _check_usage(args)
        return _run(args, out)
    except OpsUsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    except held_ops.HeldRecordsUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (KafkaError, TimeoutError) as error:
        print(f"error: Kafka: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    except SQLAlchemyError as error:
        print(f"error: database: {type(error).__name__}", file=sys.stderr)
        return 1


def _check_usage(args: argparse.Namespace) -> None:
    """What argparse cannot say, checked before any store or broker is touched."""
    if args.area == "dead-letters" and args.command == "replay" and bool(args.all) == bool(args.refs):
        raise OpsUsageError("name the dead letters to replay (<ref> ...) or --all, not both")
    for ref in [*getattr(args, "refs", []), *([args.ref] if getattr(args, "ref", None) else [])]:
        DeadLetterRef.parse(ref)
    if getattr(args, "reason", None) is not None:
        checked_reason(args.reason)
    if getattr(args, "limit", 1) < 1:
        raise OpsUsageError("--limit must be at least 1")


def _run(args: argparse.Namespace, out: TextIO) -> int:
    settings = load_settings(ServiceSettings, "")
    consumer_name = settings.consumer_group or f"ketalink-{args.service}"
    engine = create_database(settings.database_url or f"sqlite:///var/{args.service}.db")
    try:
        if args.area == "prune":
            retention = load_settings(RetentionSettings, "KETALINK_RETENTION_")
            for result in prune(engine, args.service, retention, apply=args.apply, actor=cli_actor()):
                verb = "deleted" if result.applied else "would delete"
                print(f"{result.table}: {verb} {result.rows} row(s) older than "
                      f"{result.older_than.isoformat(timespec='seconds')}", file=out)
            return 0
        if args.area == "held":
            return _held(args, engine, consumer_name, out)
        ops = OpsService(args.service, engine, load_settings(KafkaSettings, "KAFKA_"), consumer_name)
        if args.area == "outbox":
            backlog = ops.outbox()
            oldest = backlog.oldest_created_at.isoformat(timespec="seconds") if backlog.oldest_created_at else "-"
            print(f"pending {backlog.pending}; oldest unsent {oldest} "
                  f"({backlog.oldest_age_s(utcnow()):.0f} s ago)", file=out)
            return 0
        return _dead_letters(args, ops, out)
    finally:
        engine.dispose()


def _dead_letters(args: argparse.Namespace, ops: OpsService, out: TextIO) -> int:
    if args.command == "list":
        listed = ops.dead_letters(include_settled=args.include_settled, limit=args.limit)
        for item in listed:
            print(_line(item.letter) + (f"  [{item.settled}]" if item.settled else ""), file=out)
        print(f"{len(listed)} dead letter(s) of {ops.consumer_name}", file=sys.stderr)
        return 0
    if args.command == "show":
        item = ops.dead_letter(DeadLetterRef.parse(args.ref))
        letter = item.letter
        for name, value in (("ref", letter.ref), ("dead-lettered at", _when(letter)), ("consumer", letter.consumer),
                            ("source", _source(letter)), ("key", letter.key or "-"),
                            ("event code", letter.event_code or "-"), ("message id", letter.message_id or "-"),
                            ("replayed from", letter.replayed_from or "-"), ("reason", letter.reason),
                            ("settled", item.settled or "no")):
            print(f"{name}: {value}", file=out)
        if args.payload:
            print("payload:", file=out)
            print((letter.value or b"").decode("utf-8", errors="replace"), file=out)
        return 0
    if args.command == "replay":
        refs = None if args.all else [DeadLetterRef.parse(ref) for ref in args.refs]
        results = ops.replay(refs, args.reason, cli_actor(), apply=args.apply)
        verb = "replayed" if args.apply else "would replay"
        for result in results:
            print(f"{verb} {result.ref} -> {result.to_topic}", file=out)
        print(f"{verb} {len(results)} dead letter(s)" + ("" if args.apply else " (dry run: add --apply)"),
              file=sys.stderr)
        return 0
    letter = ops.discard(DeadLetterRef.parse(args.ref), args.reason, cli_actor())
    print(f"discarded {letter.ref}", file=out)
    return 0


def _held(args: argparse.Namespace, engine: Engine, consumer_name: str, out: TextIO) -> int:
    if args.command == "list":
        for record in held_ops.list_held(engine, consumer_name):
            print(f"{record.id}  {record.state}  {record.source_topic}:{record.source_partition}:"
                  f"{record.source_offset}  key={record.message_key or '-'}  attempts={record.attempts}  "
                  f"held={record.held_at}  next={record.next_attempt_at or '-'}  reason: {record.reason}", file=out)
        return 0
    record = held_ops.act(engine, args.service, consumer_name, args.held_id, args.command, args.reason, cli_actor())
    done = {"release": "released", "discard": "discarded"}[args.command]
    print(f"{done} held record {record.id} (now {record.state})", file=out)
    return 0


def _line(letter: DeadLetter) -> str:
    return (f"{letter.ref}  {_when(letter)}  source={_source(letter)}  event={letter.event_code or '-'}  "
            f"message={letter.message_id or '-'}  reason: {letter.reason}")


def _source(letter: DeadLetter) -> str:
    return f"{letter.source_topic}:{_or_dash(letter.source_partition)}:{_or_dash(letter.source_offset)}"


def _when(letter: DeadLetter) -> str:
    return letter.dead_lettered_at.isoformat(timespec="seconds") if letter.dead_lettered_at else "-"


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)
