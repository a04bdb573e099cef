"""``adafruit_esp32spi.adafruit_esp32spi`` for the tests on the core: the PyPortal's ESP32
at the level of its commands, so that the firmware's own socket pool, connection manager and
requests run over it. It answers every request from files the host prepared (``routes``):
the raw HTTP answers of the project's test API. Modelled on tools/pyportal_sim/esp32.py (its
sources: adafruit_esp32spi.py and nina-fw): 6 sockets, one TLS socket, a 10 s cap on each
command, the library's face before and after 8.0 (``LEGACY``).
"""

import harness

SOCKET_CLOSED, SOCKET_LISTEN, SOCKET_SYN_SENT, SOCKET_SYN_RCVD = 0, 1, 2, 3
SOCKET_ESTABLISHED, SOCKET_FIN_WAIT_1, SOCKET_FIN_WAIT_2, SOCKET_CLOSE_WAIT = 4, 5, 6, 7
SOCKET_CLOSING, SOCKET_LAST_ACK, SOCKET_TIME_WAIT = 8, 9, 10
SOCKETS = 6  # nina-fw 2.0 and later (sdkconfig: CONFIG_LWIP_MAX_SOCKETS=6)
FIRMWARE = "3.3.0"  # nina-fw's newest release
WL_CONNECTED = 3
LEGACY = False  # ESP32SPI before 8.0: bytes firmware_version, ssid/rssi, no ap_info
routes = {}  # "/mars?width=..." -> file of the raw HTTP answer
responds = [True]
log = []  # the request lines the chip was asked for


class _Sock:
    def __init__(self):
        self.file = None
        self.left = 0
        self.request = b""


class _Network:
    def __init__(self, chip):
        self._chip = chip

    @property
    def ssid(self):
        self._chip._command()
        return "harness"

    @property
    def rssi(self):
        self._chip._command()
        return -58


class ESP_SPIcontrol:  # the name the connection manager dispatches on
    TCP_MODE, UDP_MODE, TLS_MODE = 0, 1, 2

    def __init__(self, spi, cs_dio, ready_dio, reset_dio, *args, **kwargs):
        cs_dio.switch_to_output(value=True)
        self._sockets = {}
        self._joined = False

    def _command(self):
        if not responds[0]:
            harness.advance(10)  # _wait_for_ready: "wait up to 10 seconds"
            raise TimeoutError("ESP32 not responding")

    @property
    def status(self):
        self._command()
        return WL_CONNECTED if self._joined else 6

    @property
    def is_connected(self):
        try:
            return self.status == WL_CONNECTED
        except OSError:
            self.reset()
            return False

    def connect_AP(self, ssid, password, timeout_s=10):
        self._command()
        harness.advance(2)
        self._joined = True
        return WL_CONNECTED

    @property
    def firmware_version(self):
        self._command()
        return (FIRMWARE.encode() + b"\x00") if LEGACY else FIRMWARE

    @property
    def ap_info(self):
        if LEGACY:
            raise AttributeError("ap_info")
        return _Network(self) if self.is_connected else None

    @property
    def ssid(self):
        if not LEGACY:
            raise AttributeError("ssid")
        self._command()
        return b"harness"

    @property
    def rssi(self):
        if not LEGACY:
            raise AttributeError("rssi")
        self._command()
        return -58

    def reset(self):
        for sock in self._sockets.values():
            if sock.file is not None:
                sock.file.close()
        self._sockets = {}
        self._joined = False
        harness.advance(0.76)

    def get_host_by_name(self, hostname):
        self._command()
        return b"\x7f\x00\x00\x01"

    def get_socket(self):
        self._command()
        for n in range(SOCKETS):
            if n not in self._sockets:
                self._sockets[n] = _Sock()
                return n
        raise OSError(23)

    def socket_connect(self, socket_num, dest, port, conn_mode=TCP_MODE):
        self._command()
        if socket_num not in self._sockets:
            raise ConnectionError("Could not connect to remote server")
        harness.advance(0.05)
        return True

    def socket_write(self, socket_num, buffer, conn_mode=TCP_MODE):
        self._command()
        sock = self._sockets[socket_num]
        sock.request += bytes(buffer)
        end = sock.request.find(b"\r\n\r\n")
        if end >= 0:
            line = sock.request[:sock.request.find(b"\r\n")].decode()
            log.append(line)
            path = line.split(" ")[1]
            if "://" in path:
                path = path[path.find("/", path.find("://") + 3):]
            name = routes.get(path, routes.get("404"))
            sock.file = open(name, "rb")
            sock.file.seek(0, 2)
            sock.left = sock.file.tell()
            sock.file.seek(0)
            sock.request = b""
        harness.probe()
        return len(buffer)

    def socket_available(self, socket_num):
        self._command()
        sock = self._sockets.get(socket_num)
        if sock is None or not sock.left:
            harness.advance(0.01)  # a poll takes time: a read that waits in vain times out
            return 0
        return min(sock.left, 4000)

    def socket_read(self, socket_num, size):
        self._command()
        sock = self._sockets[socket_num]
        data = sock.file.read(min(size, sock.left))
        sock.left -= len(data)
        harness.advance(len(data) / 40000)
        harness.probe()
        return data

    def socket_status(self, socket_num):
        self._command()
        sock = self._sockets.get(socket_num)
        if sock is None:
            return SOCKET_CLOSED
        return SOCKET_CLOSE_WAIT if sock.file is not None and sock.left == 0 else \
            SOCKET_ESTABLISHED

    def socket_close(self, socket_num):
        sock = self._sockets.pop(socket_num, None)
        if sock is not None and sock.file is not None:
            sock.file.close()
