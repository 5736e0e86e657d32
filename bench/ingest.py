"""MQTT telemetry through the detectors against a bare paho subscriber, same broker, same run.

Both consume the same pre-queued status stream (the simulator's, 1,000 boxes by default) from their
own persistent session on a shared subscription, QoS 1, MQTT 5, on a private Mosquitto with the
deployment settings (connectors/mqtt/mosquitto.conf). The bare subscriber only counts (paho acks
each message itself). The ingest runs as deployed (connectors/mqtt/partitioned.py): relays each
message to its box's partition on Redis Streams (acking MQTT after the XADD), reads its partitions
back, parses, checks, runs every rule, writes dead letters, detector-state transitions and presence
to PostgreSQL in batches, hands findings to rq (Redis) and XACKs after each flush. `--direct`: the
embedded path (MQTT straight into the rules, acked after each flush). Time runs from CONNECT to
the last message judged and flushed.

Usage: python bench/ingest.py [--messages 60000] [--devices 1000] [--direct]
Last line: msgs_per_s=… baseline_per_s=… ratio=…   (targets: ≥ 5000/s, ratio ≥ 0.6)
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench.mqtt_setup import REDIS, FreshDatabase, PrivateBroker, prime_session
from connectors.mqtt.topics import shared_filters


def bare_subscriber(port: int, client_id: str, expected: int, auth: tuple[str, str]) -> float:
    done = threading.Event()
    count = 0

    def on_message(_c, _u, _m) -> None:  # type: ignore[no-untyped-def]
        nonlocal count
        count += 1
        if count >= expected:
            done.set()

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.on_message = on_message
    c.username_pw_set(*auth)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = 20000  # as the ingest
    started = time.perf_counter()
    c.connect("127.0.0.1", port, clean_start=False, properties=props)
    c.loop_start()
    if not done.wait(600):
        raise RuntimeError(f"bare subscriber got {count} of {expected}")
    elapsed = time.perf_counter() - started
    c.disconnect()
    c.loop_stop()
    return elapsed


def run_ingest_round(pipeline, config, n: int, redis_url: str | None) -> float:  # type: ignore[no-untyped-def]
    from connectors.mqtt.ingest import IngestService
    from connectors.mqtt.partitioned import PartitionedIngest

    start_count = pipeline.handled
    started = time.perf_counter()
    if redis_url is None:
        service = IngestService(pipeline, config)
        service.start()
        runner = threading.Thread(target=service.loop)
    else:
        service = PartitionedIngest(pipeline, redis_url, config)
        runner = threading.Thread(target=service.run)
    runner.start()
    while pipeline.handled - start_count < n or not service.idle():
        time.sleep(0.005)
    elapsed = time.perf_counter() - started
    service.stop()
    runner.join(30)
    if redis_url is not None:
        from redis import Redis

        redis = Redis.from_url(redis_url)
        for key in redis.scan_iter(f"liftcase:ingest:{config.group}*"):
            redis.delete(key)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=60000)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="best of N for each side (the machine is shared)")
    parser.add_argument("--direct", action="store_true", help="the embedded path: no Redis Streams partitions")
    args = parser.parse_args()

    from connectors.mqtt.ingest import IngestConfig
    from connectors.mqtt.publisher import connect_publisher, publish_all
    from demo.seed import seed_city
    from demo.simulate import registered_devices
    from demo.simulator import city_stream
    from infra.settings import Settings
    from liftcase.bootstrap import build_system, create_schema

    broker = PrivateBroker()
    db = FreshDatabase("liftcase_bench_ingest")
    try:
        system = build_system(Settings(database_url=db.url, redis_url=REDIS))
        create_schema(system)
        with system.sessions() as session, session.begin():
            elevators = max(3000, args.devices * 2)
            seed_city(session, elevators=elevators, devices=args.devices, clock_now=system.clock.now())
        devices = registered_devices(system.sessions, args.devices)
        # One continuous stream, cut into one chunk per round (seqs and times go on across rounds).
        seconds = args.messages * args.rounds / len(devices) * 3.0
        stream = city_stream(devices, datetime.now(UTC) - timedelta(seconds=seconds + 60), seconds, seed=5)
        everything = [(name, payload) for _, name, payload in stream.messages]
        n = args.messages
        if len(everything) < n * args.rounds:
            raise RuntimeError(f"the simulator made {len(everything)} messages, {n * args.rounds} needed")
        bare_runs, ingest_runs = [], []
        user, password = broker.ingest_auth()
        from connectors.mqtt.pipeline import IngestPipeline
        from detectors.rules.thresholds import load_thresholds
        from processes.telemetry import hand_over

        pipeline = IngestPipeline(system.sessions, load_thresholds(), lambda signals: hand_over(system.jobs, signals),
                                  system.clock)  # fmt: skip
        for round_no in range(args.rounds):
            # The same stream queued for both sessions; each round measures both, in turn.
            for side in ("bare", "ingest"):
                prime_session(broker.port, f"bench-{side}-{round_no}", shared_filters(f"{side}{round_no}"),
                              (user, password))  # fmt: skip
            publisher, secret = broker.publisher_auth()
            pub = connect_publisher("127.0.0.1", broker.port, username=publisher, password=secret)
            messages = everything[round_no * n : (round_no + 1) * n]
            publish_all(pub, messages)
            pub.disconnect()
            pub.loop_stop()
            bare_runs.append(bare_subscriber(broker.port, f"bench-bare-{round_no}", n, (user, password)))
            config = IngestConfig(port=broker.port, client_id=f"bench-ingest-{round_no}", group=f"ingest{round_no}",
                                  username=user, password=password)  # fmt: skip
            ingest_runs.append(run_ingest_round(pipeline, config, n, None if args.direct else REDIS))
            print(f"round {round_no + 1}: bare paho {n / bare_runs[-1]:,.0f}/s, ingest {n / ingest_runs[-1]:,.0f}/s")
        bare_s, ingest_s = min(bare_runs), min(ingest_runs)
        print(f"{n} status messages from {len(devices)} boxes ({len(stream.truth)} faults in all rounds) per round; "
              f"best of {args.rounds}: bare paho {bare_s:.2f}s, ingest ({'direct' if args.direct else 'partitioned'}) "
              f"with rules + PostgreSQL + rq {ingest_s:.2f}s")
        from redis import Redis
        from rq import Queue

        queued = Queue("liftcase", connection=Redis.from_url(REDIS))
        print(f"finding jobs queued on rq: {queued.count}")
        queued.empty()
        system.db.dispose()
    finally:
        broker.close()
        db.drop()
    rate, base = n / ingest_s, n / bare_s
    print(f"msgs_per_s={rate:.0f} baseline_per_s={base:.0f} ratio={rate / base:.2f}")


if __name__ == "__main__":
    main()
