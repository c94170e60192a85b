"""The reference offline client of a distribution point's device: its state file, its transport and the client.

``canasta device sync|redeem|upload|status`` runs it; tests and the simulator run it in-process."""

from canasta.adapters.device.client import OfflineDevice, new_state
from canasta.adapters.device.state import StateFile
from canasta.adapters.device.transport import ClientTransport, DeviceTransport, HttpTransport, ServerUnreachableError

__all__ = [
    "ClientTransport",
    "DeviceTransport",
    "HttpTransport",
    "OfflineDevice",
    "ServerUnreachableError",
    "StateFile",
    "new_state",
]
