"""The ingest process: a paho-mqtt client on the shared subscriptions feeding an `IngestPipeline`.

QoS 1 with a persistent session (MQTT 5 session expiry, clean_start False, a stable client id per
process), so the broker keeps what arrives while we are away and redelivers what we never acked.
Messages are acknowledged by hand, only after the batch they belong to has been flushed (handed on
and written). paho reconnects by itself with exponential backoff (`reconnect_delay_set`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from connectors.mqtt.pipeline import IngestPipeline
from connectors.mqtt.topics import SHARE_GROUP, shared_filters

log = logging.getLogger(__name__)
SESSION_TAKEN_OVER = 142  # MQTT 5 DISCONNECT reason code


class Sink(Protocol):
    """What the service feeds: the pipeline itself (embedded) or the partitions' relay (deployed)."""

    def handle(self, topic: str, payload: bytes) -> None: ...
    def pending(self) -> bool: ...
    def take(self) -> Any: ...
    def commit(self, cut: Any) -> None: ...


@dataclass(frozen=True)
class IngestConfig:
    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "liftcase-ingest-1"
    group: str = SHARE_GROUP
    keepalive: int = 30
    session_expiry_s: int = 7 * 24 * 3600
    # How many unacked messages the broker may have in flight to us: the batch size ceiling. A batch
    # writes each changed device once, so longer batches write fewer rows per message.
    receive_maximum: int = 20000
    flush_messages: int = 10000
    flush_seconds: float = 1.0
    offline_check_s: float = 60
    reconnect_min_s: int = 1
    reconnect_max_s: int = 60
    close_timeout_s: float = 5.0  # at shutdown: how long the last acks may take to reach the broker
    retry_max_s: float = 30.0  # longest wait between attempts at a failed flush
    # The ingest's broker account (settings mqtt_username/password); None: anonymous (development).
    username: str | None = None
    password: str | None = field(default=None, repr=False)


class IngestService:
    def __init__(self, pipeline: Sink, config: IngestConfig, drainer: bool = False) -> None:
        self.pipeline = pipeline
        self.config = config
        self.drainer = drainer  # connected as a departed process's session (connectors/mqtt/sessions.py)
        self.end_session = False  # at close: ask the broker to delete the session
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self._disconnected = threading.Event()
        self._lock = threading.Lock()
        self._unacked: list[int] = []
        self._cut: tuple[Any, list[int]] | None = None
        self._wake = threading.Event()
        self._unsubacks: set[int] = set()  # answers to close barriers (`_acks_read_by_broker`)
        self._unsuback = threading.Condition()
        self._flush_failures = 0
        self._retry_at = 0.0
        self.client = self._client()

    def _client(self) -> mqtt.Client:
        c = self.config
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=c.client_id, protocol=mqtt.MQTTv5, manual_ack=True
        )
        client.reconnect_delay_set(min_delay=c.reconnect_min_s, max_delay=c.reconnect_max_s)
        if c.username:
            client.username_pw_set(c.username, c.password)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_unsubscribe = self._on_unsubscribe
        return client

    # -- paho callbacks (network thread) --------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _userdata, _flags, reason_code, _props) -> None:  # type: ignore[no-untyped-def]
        if reason_code.is_failure:
            log.warning("MQTT connect refused: %s", reason_code)
            return
        # Subscribing again on a resumed session is harmless and covers a broker that lost it.
        client.subscribe([(f, 1) for f in shared_filters(self.config.group)])
        self.connected.set()
        log.info("ingest %s connected to %s:%s", self.config.client_id, self.config.host, self.config.port)

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _props) -> None:  # type: ignore[no-untyped-def]
        self.connected.clear()
        self._disconnected.set()
        if self.drainer and reason_code == SESSION_TAKEN_OVER:  # its owner is back: leave it the session
            self.stopping.set()
            _client.disconnect()  # no reconnect
            return
        if not self.stopping.is_set():
            log.warning("MQTT connection lost (%s); paho reconnects with backoff", reason_code)

    def _on_message(self, _client: mqtt.Client, _userdata, msg: mqtt.MQTTMessage) -> None:  # type: ignore[no-untyped-def]
        with self._lock:
            self.pipeline.handle(msg.topic, msg.payload)
            if msg.qos:
                self._unacked.append(msg.mid)
            if len(self._unacked) >= self.config.flush_messages:
                self._wake.set()

    def _on_unsubscribe(self, _client, _userdata, mid, _reason_codes, _props) -> None:  # type: ignore[no-untyped-def]
        with self._unsuback:
            self._unsubacks.add(mid)
            self._unsuback.notify_all()

    # -- batches (main thread) ------------------------------------------------------------------
    def flush(self) -> bool:
        """Cut a batch under the lock, write it outside (the network thread keeps receiving), then
        ack its messages. A failed write is retried, same batch, before anything newer."""
        if self._cut is None:
            with self._lock:
                if not self._unacked and not self.pipeline.pending():
                    return True
                self._cut = (self.pipeline.take(), self._unacked)
                self._unacked = []
        now = time.monotonic()
        if now < self._retry_at:
            return False
        cut, mids = self._cut
        try:
            self.pipeline.commit(cut)
        except Exception:
            self._flush_failures += 1
            delay = min(self.config.retry_max_s, 0.5 * 2 ** min(self._flush_failures, 6))
            self._retry_at = now + delay
            log.exception("flush failed (%d in a row); retrying in %.1fs, messages stay unacked",
                          self._flush_failures, delay)  # fmt: skip
            return False
        self._flush_failures = 0
        for mid in mids:
            self.client.ack(mid, 1)
        self._cut = None  # after the acks: idle() holds only once they are handed to paho
        return True

    def flowing(self) -> bool:
        """Connected to the broker and writing what arrives (no write failing): messages are not held
        up on the way, so a box's silence is silence."""
        return self.connected.is_set() and self._flush_failures == 0

    def idle(self) -> bool:
        """Nothing handled is waiting to be written or acked."""
        with self._lock:
            return self._cut is None and not self._unacked and not self.pipeline.pending()

    # -- running --------------------------------------------------------------------------------
    def start(self) -> None:
        c = self.config
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = c.session_expiry_s
        props.ReceiveMaximum = c.receive_maximum
        delay = c.reconnect_min_s
        while not self.stopping.is_set():
            try:
                self.client.connect(c.host, c.port, keepalive=c.keepalive, clean_start=False, properties=props)
                break
            except OSError as err:
                log.warning("MQTT broker %s:%s unreachable (%s); retrying in %ss", c.host, c.port, err, delay)
                self.stopping.wait(delay)
                delay = min(delay * 2, c.reconnect_max_s)
        self.client.loop_start()

    def run(self, seconds: float | None = None) -> None:
        self.start()
        self.loop(seconds)

    def loop(self, seconds: float | None = None) -> None:
        """Flush on a timer (or when a batch is full) until `stop()` or for `seconds`; check
        heartbeats now and then."""
        deadline = None if seconds is None else time.monotonic() + seconds
        next_offline = time.monotonic() + self.config.offline_check_s
        try:
            while not self.stopping.is_set():
                self._wake.wait(self.config.flush_seconds)
                self._wake.clear()
                if isinstance(self.pipeline, IngestPipeline):  # boxes silent mid-fault, every round (≤ 1 s)
                    with self._lock:
                        self.pipeline.judge_deadlines(self.flowing())
                while not self.flush():
                    if self.stopping.wait(0.2):
                        break
                if time.monotonic() >= next_offline:
                    next_offline = time.monotonic() + self.config.offline_check_s
                    self.check_offline()
                if deadline is not None and time.monotonic() >= deadline:
                    break
        finally:
            self.close()

    def check_offline(self) -> list[str]:
        if not isinstance(self.pipeline, IngestPipeline):
            return []  # a relay judges nothing: the partitions' holders check
        return self.pipeline.check_offline(self._lock)

    def stop(self) -> None:
        self.stopping.set()
        self._wake.set()  # the loop may be waiting for the next flush

    def close(self) -> None:
        self.stopping.set()
        self._wake.set()
        for _ in range(3):
            if self.flush() and self.flush():  # the cut in hand, then anything after it
                break
            time.sleep(0.5)
        self._acks_read_by_broker()
        # The acks above are queued on paho's network thread; stopping that thread before it has
        # written them (and the DISCONNECT behind them) would leave the broker holding the batch
        # for redelivery. Its on_disconnect comes after every earlier packet went out.
        self._disconnected.clear()
        props = None
        if self.end_session:
            props = Properties(PacketTypes.DISCONNECT)
            props.SessionExpiryInterval = 0
        if self.client.disconnect(properties=props) == mqtt.MQTT_ERR_SUCCESS:
            self._disconnected.wait(self.config.close_timeout_s)
        self.client.loop_stop()

    def _acks_read_by_broker(self) -> None:
        """Wait until the broker has read our last acks. Written is not read: Mosquitto takes a
        connection's packets one at a time, and a successor connecting with our client id right
        after we leave (a quick restart) takes the session over with the unread acks dropped, so
        the last batch came back as redeliveries. The broker answers packets in order, so the
        answer to an UNSUBSCRIBE of a filter we never subscribed (a no-op) follows every ack."""
        if not self.connected.is_set():
            return
        rc, mid = self.client.unsubscribe(f"liftcase/close-barrier/{self.config.client_id}")
        if rc != mqtt.MQTT_ERR_SUCCESS or mid is None:
            return
        with self._unsuback:
            if not self._unsuback.wait_for(lambda: mid in self._unsubacks, self.config.close_timeout_s):
                log.warning("the broker did not confirm our last acks within %ss; it may redeliver them",
                            self.config.close_timeout_s)  # fmt: skip
            self._unsubacks.discard(mid)
