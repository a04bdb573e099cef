"""The PyPortal's ESP32 co-processor (NINA firmware) as ``adafruit_esp32spi`` sees it.

A stand-in for ``adafruit_esp32spi.adafruit_esp32spi.ESP_SPIcontrol`` at the level of its
socket commands, so that the *real* ``adafruit_esp32spi_socketpool``,
``adafruit_connection_manager`` and ``adafruit_requests`` run on it and fail as on the board:

- NINA firmware 2.0 and later's 6 sockets; a socket nobody closes stays taken, even across a
  new session;
- one TLS socket at a time (``socket_open`` in adafruit_esp32spi.py: "Only one open SSL
  connection allowed");
- ``socket_connect`` gives up after 3 s (the ``while ... < 3`` loop in adafruit_esp32spi.py);
- a name resolved once is answered from lwIP's DNS table until its TTL runs out (nina-fw's
  ``reqHostByName`` calls ``WiFi.hostByName``, lwIP's ``dns_gethostbyname``, whose
  ``dns_lookup`` answers from "the cached dns_table"): the image after the JSON costs no
  second lookup; an address in numbers (a LAN install's ``http://192.168.1.20:8080``) costs
  none at all (``dns_gethostbyname`` returns at once when ``ipaddr_aton`` reads the name);
- every command waits at most 10 s for the chip (``_wait_for_ready``: ``TimeoutError("ESP32
  not responding")``): a TLS handshake longer than that fails, and a chip that stopped
  answering (:attr:`Link.responds`) costs 10 s per command;
- the library's own face of the version simulated: before ESP32SPI 8.0 ``firmware_version``
  is raw bytes and the control has ``ssid`` / ``rssi``; from 8.0 it is a string and the network
  is ``ap_info`` (``None`` when not connected);
- time spent in DNS, connect, TLS handshake and SPI transfer is charged to the simulated clock,
  so a watchdog budget that would reset the board resets the simulated one.

Bytes go over real sockets to the local server: hosts in :attr:`Link.hosts` stand for real
names (TLS is charged in time only: the local server speaks plain HTTP).
"""

from __future__ import annotations

import select
import socket as _socket
import time
from dataclasses import dataclass, field

# adafruit_esp32spi.py: SOCKET_* states and connection modes
SOCKET_CLOSED, SOCKET_LISTEN, SOCKET_SYN_SENT, SOCKET_SYN_RCVD = 0, 1, 2, 3
SOCKET_ESTABLISHED, SOCKET_FIN_WAIT_1, SOCKET_FIN_WAIT_2, SOCKET_CLOSE_WAIT = 4, 5, 6, 7
SOCKET_CLOSING, SOCKET_LAST_ACK, SOCKET_TIME_WAIT = 8, 9, 10
NO_SOCKET = 255
# nina-fw main/CommandHandler.cpp: MAX_SOCKETS = CONFIG_LWIP_MAX_SOCKETS, which its sdkconfig
# sets to 10 up to 1.7.7 and to 6 from 2.0.0 (sdkconfig.defaults in 3.x)
SOCKETS = 6
CONNECT_WAIT_S = 3  # adafruit_esp32spi.socket_connect: "wait 3 seconds"
READY_WAIT_S = 10  # adafruit_esp32spi._wait_for_ready: "wait up to 10 seconds"
# nina-fw main/CommandHandler.cpp FIRMWARE_VERSION of its newest release (3.3.0); the chip
# sends it with its NUL, which ESP32SPI 8.0 and later strip
FIRMWARE = "3.3.0"
WL_CONNECTED = 3


@dataclass
class Link:
    """The Wi-Fi link's figures, in seconds and bytes per second.

    Defaults are a good home network. Where they come from:

    - ``tls_s``: an ESP32 TLS 1.2 handshake takes ~1.2 s (micropython-esp32#131) and up to
      3 s with certificate checks (esp-idf#10523);
    - ``rate``: ESP32 TCP downloads measured at 24.5 KB/s (arduino-esp32#312) to 70 kB/s
      (micropython#5543); the SPI link (8 MHz in ESP_SPIcontrol) is not the limit;
    - ``dns_s``, ``connect_s``: a round trip or two on Wi-Fi;
    - ``dns_ttl_s``: how long lwIP keeps an answer (the record's TTL; a minute is common for
      the AWS front doors);
    - ``join_s``: ``connect_AP`` polls for up to 10 s (its ``timeout_s``); a few seconds usually.
    """

    dns_s: float = 0.05
    dns_ttl_s: float = 60.0
    connect_s: float = 0.05
    tls_s: float = 1.5
    rate: float = 40_000
    join_s: float = 2.0
    rssi: int = -58
    ssid: str = "simulator"
    hosts: dict[str, tuple[str, int]] = field(default_factory=dict)  # name -> local address
    net_speedup: float = 1.0  # simulated seconds per real second spent waiting for data
    responds: bool = True  # False: the chip no longer answers, and a reset does not help


SLOW_LINK = Link(dns_s=4.0, connect_s=1.0, tls_s=6.0, rate=16_000, rssi=-82)


class _Sock:
    def __init__(self) -> None:
        self.real: _socket.socket | None = None
        self.buffer = b""
        self.eof = False
        self.tls = False


class ESP_SPIcontrol:  # the class name connection_manager dispatches on
    """The ESP32 as seen through SPI. Build it with :func:`factory`."""

    TCP_MODE, UDP_MODE, TLS_MODE = 0, 1, 2

    def __init__(self, link: Link, clock, log=None) -> None:
        self.link = link
        self._clock = clock
        self._log = log or (lambda line: None)
        self._sockets: dict[int, _Sock] = {}
        self._tls_socket: int | None = None
        self._joined = False
        self._dns: dict[str, tuple[bytes, float]] = {}  # name -> (address, expiry)
        self.resets = 0
        self.dns_lookups = 0  # asked of the network (a cached answer is not one)

    # -- Wi-Fi -------------------------------------------------------------------------------
    def _command(self) -> None:
        """One command over SPI: a chip that does not answer costs the 10 s wait, then
        ``TimeoutError`` (adafruit_esp32spi._wait_for_ready)."""
        if not self.link.responds:
            self._clock.advance(READY_WAIT_S)
            raise TimeoutError("ESP32 not responding")

    @property
    def status(self) -> int:
        self._command()
        return WL_CONNECTED if self._joined else 6  # WL_DISCONNECTED

    @property
    def is_connected(self) -> bool:
        # adafruit_esp32spi: an OSError (TimeoutError is one) resets the chip, then False
        try:
            return self.status == WL_CONNECTED
        except OSError:
            self.reset()
            return False

    def connect_AP(self, ssid, password, timeout_s=10):  # the library's name
        self._command()  # wifi_set_passphrase
        self._clock.advance(min(self.link.join_s, timeout_s))
        if self.link.join_s > timeout_s:
            raise ConnectionError("Failed to connect to ssid", ssid)
        self._joined = True
        return WL_CONNECTED

    @property
    def firmware_version(self):
        self._command()
        return FIRMWARE.encode() + b"\x00"  # ESP32SPI before 8.0: the chip's bytes as sent

    def reset(self) -> None:
        """Hard reset: the chip forgets every socket and the network."""
        for sock in self._sockets.values():
            if sock.real is not None:
                sock.real.close()
        self._sockets.clear()
        self._tls_socket = None
        self._joined = False
        self._dns.clear()
        self.resets += 1
        self._clock.advance(0.76)  # adafruit_esp32spi.reset: 0.01 s low, 0.75 s to boot

    # -- DNS and sockets ---------------------------------------------------------------------
    def get_host_by_name(self, hostname) -> bytes:
        if isinstance(hostname, bytes):
            hostname = hostname.decode()
        self._command()
        cached = self._dns.get(hostname)
        if cached is not None and self._clock.monotonic() < cached[1]:
            return cached[0]
        if hostname not in self.link.hosts:
            try:
                return _socket.inet_aton(hostname)  # numbers: no lookup on the network
            except OSError:
                pass
        self._clock.advance(min(self.link.dns_s, READY_WAIT_S))
        self.dns_lookups += 1
        host = self.link.hosts.get(hostname, (hostname, 0))[0]
        try:
            address = _socket.inet_aton(_socket.gethostbyname(host))
        except OSError:
            raise ConnectionError("Failed to request hostname") from None
        self._dns[hostname] = (address, self._clock.monotonic() + self.link.dns_ttl_s)
        return address

    def get_socket(self) -> int:
        self._command()
        for n in range(SOCKETS):
            if n not in self._sockets:
                self._sockets[n] = _Sock()
                return n
        raise OSError(23)  # adafruit_esp32spi.get_socket: ENFILE when the ESP32 answers 255

    def socket_connect(self, socket_num, dest, port, conn_mode=TCP_MODE) -> bool:
        if conn_mode == self.TLS_MODE and self._tls_socket is not None:
            raise OSError(23, "Only one open SSL connection allowed")
        sock = self._sockets.get(socket_num)
        if sock is None:
            raise ConnectionError("Could not connect to remote server")
        if isinstance(dest, (bytes, bytearray)):
            address = (_socket.inet_ntoa(bytes(dest)), port)
        else:
            host, local_port = self.link.hosts.get(dest, (dest, port))
            address = (host, local_port or port)
        self._command()
        self._clock.advance(self.link.connect_s)
        try:
            sock.real = _socket.create_connection(address, timeout=CONNECT_WAIT_S)
        except OSError:
            self._clock.advance(CONNECT_WAIT_S)
            raise TimeoutError("Failed to establish connection") from None
        sock.real.setblocking(False)
        if conn_mode == self.TLS_MODE:
            # the handshake runs inside the connect command, whose answer the library waits
            # for at most READY_WAIT_S
            if self.link.tls_s > READY_WAIT_S:
                self._clock.advance(READY_WAIT_S)
                sock.real.close()
                sock.real = None
                raise TimeoutError("ESP32 not responding")
            self._clock.advance(self.link.tls_s)
            self._tls_socket = socket_num
            sock.tls = True
        return True

    def socket_write(self, socket_num, buffer, conn_mode=TCP_MODE) -> int:
        self._command()
        real = self._open(socket_num).real
        assert real is not None  # _open refuses a closed socket
        data = bytes(buffer)
        real.setblocking(True)
        try:
            real.sendall(data)
        except OSError:
            raise ConnectionError(f"Failed to send {len(data)} bytes") from None
        finally:
            real.setblocking(False)
        self._clock.advance(len(data) / self.link.rate)
        return len(data)

    def _pull(self, sock: _Sock, wait_s: float) -> None:
        if sock.real is None or sock.eof:
            return
        ready, _, _ = select.select([sock.real], [], [], wait_s)
        if ready:
            try:
                chunk = sock.real.recv(65536)
            except OSError:
                chunk = b""
            if chunk:
                sock.buffer += chunk
            else:
                sock.eof = True

    def socket_available(self, socket_num) -> int:
        self._command()
        sock = self._sockets.get(socket_num)
        if sock is None:
            return 0
        if not sock.buffer:
            start = time.perf_counter()
            self._pull(sock, 0.01)
            waited = time.perf_counter() - start
            # waiting for the server counts, sped up like the rest of simulated time
            self._clock.advance(waited * max(0.0, self.link.net_speedup - 1))
        else:
            self._pull(sock, 0)
        return len(sock.buffer)

    def socket_read(self, socket_num, size) -> bytes:
        self._command()
        sock = self._open(socket_num)
        data, sock.buffer = sock.buffer[:size], sock.buffer[size:]
        self._clock.advance(len(data) / self.link.rate)
        return data

    def socket_status(self, socket_num) -> int:
        self._command()
        sock = self._sockets.get(socket_num)
        if sock is None or sock.real is None:
            return SOCKET_CLOSED
        self._pull(sock, 0)
        return SOCKET_CLOSE_WAIT if sock.eof and not sock.buffer else SOCKET_ESTABLISHED

    def socket_close(self, socket_num) -> None:
        sock = self._sockets.pop(socket_num, None)
        if sock is not None and sock.real is not None:
            sock.real.close()
        if socket_num == self._tls_socket:
            self._tls_socket = None

    def _open(self, socket_num) -> _Sock:
        sock = self._sockets.get(socket_num)
        if sock is None or sock.real is None:
            raise OSError(9, f"socket {socket_num} not open")
        return sock

    @property
    def sockets_in_use(self) -> int:
        return len(self._sockets)


class Network:
    """``adafruit_esp32spi.Network`` (8.0 and later), what ``ap_info`` returns: each property
    is one more command to the chip."""

    def __init__(self, chip: ESP_SPIcontrol) -> None:
        self._chip = chip

    @property
    def ssid(self) -> str:
        self._chip._command()
        return self._chip.link.ssid

    @property
    def rssi(self) -> int:
        self._chip._command()
        return self._chip.link.rssi


class LegacyESP(ESP_SPIcontrol):
    """ESP32SPI before 8.0: ``ssid`` and ``rssi`` on the control, no ``ap_info``."""

    @property
    def ssid(self) -> bytes:
        self._command()
        return self.link.ssid.encode()

    @property
    def rssi(self) -> int:
        self._command()
        return self.link.rssi


class CurrentESP(ESP_SPIcontrol):
    """ESP32SPI 8.0 and later: the version as a string, the network as ``ap_info``."""

    @property
    def firmware_version(self) -> str:
        self._command()
        return FIRMWARE

    @property
    def ap_info(self) -> Network | None:
        return Network(self) if self.is_connected else None


def factory(link: Link, clock, log=None, library_version: str = "11.1.3"
            ) -> tuple[type[ESP_SPIcontrol], list[ESP_SPIcontrol]]:
    """The ``ESP_SPIcontrol(spi, cs, ready, reset)`` the app builds, on this link and clock,
    as adafruit_esp32spi ``library_version`` presents it."""
    chips: list[ESP_SPIcontrol] = []
    base: type[ESP_SPIcontrol] = (CurrentESP if int(library_version.split(".")[0]) >= 8
                                  else LegacyESP)

    def __init__(self, spi, cs_dio, ready_dio, reset_dio, *args, **kwargs) -> None:
        base.__init__(self, link, clock, log)
        cs_dio.switch_to_output(value=True)  # the library drives CS high at once
        chips.append(self)

    # named as the library's: the connection manager dispatches on the class name
    return type("ESP_SPIcontrol", (base,), {"__init__": __init__}), chips
