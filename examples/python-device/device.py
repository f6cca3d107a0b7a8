#!/usr/bin/env python3
"""An Outpost device in plain Python: a second, independent client of docs/device-protocol.md.

It enrolls with a one-time token (HTTPS, key and CSR made by the openssl command), connects to
the broker with its certificate (MQTT 3.1.1 over mutual TLS), publishes its status and telemetry,
applies and reports its desired configuration, and answers commands.

Needs only Python 3.9+, the openssl command and paho-mqtt (Debian: apt install python3-paho-mqtt;
1.6 as bookworm ships it, or 2.x).

    python3 device.py --server https://platform.example:8443 --token-file token.txt \\
        --ca-fingerprint sha256:HEX --state-dir ./state [--device-id greenhouse-7]

Later runs find the identity in --state-dir and skip enrollment. Exit codes: 0 stopped, 1 error,
3 the platform refused the token (make a new one).
"""
import argparse
import hashlib
import json
import os
import random
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import paho.mqtt.client as mqtt

VERSION = "0.1.0"
OFFLINE = '{"v":1,"state":"offline"}'


def log(message):
    print(f"device: {message}", file=sys.stderr, flush=True)


def now_ms():
    return int(time.time() * 1000)


class Refused(Exception):
    """The platform answered with a coded error ({"code", "message"})."""

    def __init__(self, status, code, message):
        super().__init__(f"{message} ({code}, HTTP {status})")
        self.status = status
        self.code = code


# --- enrollment over HTTPS -------------------------------------------------------------------


def pem_blocks(pem):
    marker = "-----END CERTIFICATE-----"
    return [block + marker + "\n" for block in pem.split(marker) if "-----BEGIN CERTIFICATE-----" in block]


def fetch_pinned_ca(server, fingerprint):
    """GET /device/v1/ca without trusting anything yet; keep it only if a certificate matches the pin."""
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(f"{server}/device/v1/ca", context=unverified, timeout=30) as answer:
        chain = answer.read().decode("utf-8")
    wanted = fingerprint.lower().removeprefix("sha256:")
    for block in pem_blocks(chain):
        if hashlib.sha256(ssl.PEM_cert_to_DER_cert(block.strip())).hexdigest() == wanted:
            return chain
    raise SystemExit(f"device: error: no CA certificate of {server} has the fingerprint {fingerprint}; not sending the token")


def openssl(*args, stdin=None):
    done = subprocess.run(["openssl", *args], input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"device: error: openssl {args[0]} failed: {done.stderr.strip()}")
    return done.stdout


def post_json(url, body, context):
    request = urllib.request.Request(url, data=json.dumps(body).encode("utf-8"), method="POST", headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as err:
        try:
            error = json.load(err)
        except ValueError:
            error = {}
        raise Refused(err.code, error.get("code", "HTTP_ERROR"), error.get("message", err.reason)) from err


def enroll(args, state):
    token = args.token
    if args.token_file is not None:
        with open(args.token_file, encoding="utf-8") as file:
            token = file.read().strip()
    if not token:
        raise SystemExit("device: error: give --token-file FILE (or --token T)")
    ca_path = os.path.join(state, "ca.pem")
    with open(ca_path, "w", encoding="utf-8") as file:
        file.write(fetch_pinned_ca(args.server, args.ca_fingerprint))
    key_path = os.path.join(state, "key.pem")
    # Keep the key of an earlier attempt: the same CSR with the same token answers the same device,
    # so an enrollment whose answer was lost can be retried safely.
    if not os.path.exists(key_path):
        old_umask = os.umask(0o077)
        try:
            openssl("genrsa", "-out", key_path, "2048")
        finally:
            os.umask(old_umask)
    subject = f"/CN={args.device_id}" if args.device_id else "/O=outpost-device"
    csr = openssl("req", "-new", "-key", key_path, "-subj", subject)
    body = {"v": 1, "token": token, "csr": csr, "agentVersion": VERSION, "hardware": "python-example"}
    if args.device_id:
        body["deviceId"] = args.device_id
    context = ssl.create_default_context(cafile=ca_path)
    answer = post_json(f"{args.server}/device/v1/enroll", body, context)
    with open(os.path.join(state, "cert.pem"), "w", encoding="utf-8") as file:
        file.write(answer["certificate"])
    with open(ca_path, "w", encoding="utf-8") as file:
        file.write(answer["caChain"])
    identity = {"deviceId": answer["deviceId"], "mqttUrl": answer["mqttUrl"], "limits": answer["limits"], "renewAfter": answer["renewAfter"]}
    with open(os.path.join(state, "identity.json"), "w", encoding="utf-8") as file:
        json.dump(identity, file)
    log(f"enrolled as {answer['deviceId']}; broker {answer['mqttUrl']}")
    return identity


# --- the MQTT session ----------------------------------------------------------------------------


class Device:
    def __init__(self, state, identity, interval_s):
        self.state = state
        self.id = identity["deviceId"]
        self.url = urllib.parse.urlsplit(identity["mqttUrl"])
        self.interval_s = interval_s
        self.started = time.monotonic()
        self.seq = self._load_seq()
        self.refused = 0
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.topic = lambda kind: f"devices/{self.id}/{kind}"
        # paho-mqtt 2.x asks which callback signatures we use; 1.6 (Debian bookworm) has only these.
        options = {"client_id": self.id, "clean_session": False, "protocol": mqtt.MQTTv311}
        if hasattr(mqtt, "CallbackAPIVersion"):
            self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, **options)
        else:
            self.client = mqtt.Client(**options)
        self.client.tls_set(ca_certs=os.path.join(state, "ca.pem"), certfile=os.path.join(state, "cert.pem"), keyfile=os.path.join(state, "key.pem"))
        self.client.will_set(self.topic("status"), OFFLINE, qos=1, retain=True)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self.on_connect
        self.client.on_message = self.on_message

    def _load_seq(self):
        try:
            with open(os.path.join(self.state, "seq"), encoding="utf-8") as file:
                return int(file.read().strip() or 0)
        except FileNotFoundError:
            return 0

    def publish(self, kind, payload, retain=False):
        self.client.publish(self.topic(kind), json.dumps(payload, separators=(",", ":")), qos=1, retain=retain)

    def on_connect(self, client, _userdata, _flags, rc):
        if rc != 0:
            # 2: client id is not the device id; 3: server unavailable (retry); 5: not authorized
            # (unknown, suspended or revoked device, revoked or expired certificate).
            log(f"the broker refused the connection: CONNACK {rc} ({mqtt.connack_string(rc)})")
            return
        log(f"connected to {self.url.hostname}:{self.url.port} as {self.id}")
        client.subscribe([(self.topic("config/desired"), 1), (self.topic("commands"), 1), (self.topic("errors"), 0)])
        outbox = {"depth": 0, "bytes": 0, "dropped": 0, "refused": self.refused}
        self.publish("status", {"v": 1, "state": "online", "agentVersion": VERSION, "uptimeS": int(time.monotonic() - self.started), "outbox": outbox, "at": now_ms()}, retain=True)

    def on_message(self, _client, _userdata, message):
        try:
            payload = json.loads(message.payload.decode("utf-8"))
        except ValueError:
            log(f"ignoring a message on {message.topic} that is not JSON")
            return
        kind = message.topic[len(f"devices/{self.id}/"):]
        if kind == "config/desired":
            self.apply_config(payload)
        elif kind == "commands":
            self.answer_command(payload)
        elif kind == "errors":
            # Acknowledged but never stored: retrying cannot help, so count it and move on.
            self.refused += 1
            log(f"the platform refused a publish on {payload.get('topic')}: {payload.get('code')}: {payload.get('reason')}")

    def apply_config(self, config):
        """Takes the telemetry interval from the first collector; reports the version either way."""
        version = config.get("version")
        if config.get("v") != 1 or not isinstance(version, int):
            log("ignoring a desired config without v 1 and an integer version")
            return
        collectors = config.get("collectors") or []
        interval_ms = collectors[0].get("intervalMs") if collectors and isinstance(collectors[0], dict) else None
        if interval_ms is not None and (not isinstance(interval_ms, int) or interval_ms < 1000):
            report = {"v": 1, "version": version, "applied": False, "error": {"code": "CONFIG_INVALID", "message": "intervalMs must be a whole number of at least 1000"}, "at": now_ms()}
        else:
            if interval_ms is not None:
                self.interval_s = interval_ms / 1000
                self.wake.set()
            report = {"v": 1, "version": version, "applied": True, "at": now_ms()}
        self.publish("config/reported", report)
        log(f"desired config version {version}: applied={report['applied']}, telemetry every {self.interval_s:g} s")

    def answer_command(self, command):
        command_id = command.get("id")
        if command.get("v") != 1 or not isinstance(command_id, str):
            log("ignoring a command without v 1 and an id")
            return
        if isinstance(command.get("expiresAt"), int) and command["expiresAt"] < now_ms():
            log(f"ignoring command {command_id}: it expired")
            return
        name, args = command.get("name"), command.get("args") or {}
        if name == "ping":
            result = {"ok": True, "output": "pong"}
        elif name == "echo":
            result = {"ok": True, "output": json.dumps(args, sort_keys=True)}
        elif name == "bad_sample":
            # A demonstration of a permanent refusal: "time" is a reserved metric name, so the
            # platform acknowledges this batch, does not store it and says why on .../errors.
            self.seq += 1
            self.publish("telemetry", {"v": 1, "seq": self.seq, "samples": [{"ts": now_ms(), "metrics": {"time": 1}}]})
            result = {"ok": True, "output": f"sent batch {self.seq} with the reserved metric name 'time'"}
        else:
            result = {"ok": False, "error": {"code": "COMMAND_UNKNOWN", "message": f"this device has no command {name!r}"}}
        self.publish("commands/result", {"v": 1, "id": command_id, **result, "at": now_ms()})
        log(f"command {name} ({command_id}): ok={result['ok']}")

    def send_telemetry(self):
        self.seq += 1
        sample = {"ts": now_ms(), "metrics": {"temperature": round(20 + 5 * random.random(), 2), "uptime_s": int(time.monotonic() - self.started)}, "tags": {"client": "python"}}
        self.publish("telemetry", {"v": 1, "seq": self.seq, "samples": [sample]})
        with open(os.path.join(self.state, "seq"), "w", encoding="utf-8") as file:
            file.write(str(self.seq))

    def run(self):
        self.client.connect_async(self.url.hostname, self.url.port or 8883, keepalive=30)
        self.client.loop_start()
        try:
            while not self.stop.is_set():
                if self.client.is_connected():
                    self.send_telemetry()
                self.wake.wait(self.interval_s)
                self.wake.clear()
        finally:
            # A clean goodbye: the retained status says offline (the last will covers a crash).
            if self.client.is_connected():
                self.client.publish(self.topic("status"), OFFLINE, qos=1, retain=True).wait_for_publish(5)
            self.client.disconnect()
            self.client.loop_stop()


def main():
    parser = argparse.ArgumentParser(description="An Outpost device in plain Python (docs/device-protocol.md).")
    parser.add_argument("--server", help="the device listener, https://HOST:8443 (needed to enroll)")
    parser.add_argument("--token-file", help="a file holding the one-time enrollment token")
    parser.add_argument("--token", help="the enrollment token (visible in ps: prefer --token-file)")
    parser.add_argument("--ca-fingerprint", help="sha256:HEX of the platform CA (outpost enrollment-tokens create prints it)")
    parser.add_argument("--device-id", help="the device id to ask for (default: the platform assigns one)")
    parser.add_argument("--state-dir", required=True, help="where the key, certificate and identity live")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between telemetry samples until a desired config sets it")
    args = parser.parse_args()

    os.makedirs(args.state_dir, mode=0o700, exist_ok=True)
    identity_path = os.path.join(args.state_dir, "identity.json")
    if os.path.exists(identity_path):
        with open(identity_path, encoding="utf-8") as file:
            identity = json.load(file)
    else:
        if not args.server or not args.ca_fingerprint:
            parser.error("not enrolled yet: --server, --ca-fingerprint and --token-file are needed")
        if not args.server.startswith("https://"):
            parser.error("--server must be https://")
        try:
            identity = enroll(args, args.state_dir)
        except Refused as err:
            log(f"error: enrollment refused: {err}")
            return 3 if err.code.startswith("ENROLL_TOKEN_") else 1
        except (urllib.error.URLError, OSError) as err:
            log(f"error: cannot enroll with {args.server}: {err}")
            return 1

    device = Device(args.state_dir, identity, args.interval)
    signal.signal(signal.SIGTERM, lambda *_: device.stop.set() or device.wake.set())
    signal.signal(signal.SIGINT, lambda *_: device.stop.set() or device.wake.set())
    device.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
