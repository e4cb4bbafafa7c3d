"""Another controller is one new module implementing the same small interfaces; ACA-Py's does."""

import inspect

import pytest

from akrida.controllers import ISSUER_TYPES, AcapyAdmin, IssuerController, VerifierController


def interface_methods(protocol):
    return [name for name, member in vars(protocol).items() if inspect.isfunction(member) and not name.startswith("_")]


@pytest.mark.parametrize("controller", sorted(ISSUER_TYPES))
@pytest.mark.parametrize("protocol", [IssuerController, VerifierController])
def test_every_issuer_type_implements_the_controller_interfaces(protocol, controller):
    methods = interface_methods(protocol)
    assert methods, protocol
    cls = ISSUER_TYPES[controller]
    for name in methods:
        implementation = getattr(cls, name, None)
        assert implementation is not None, f"{cls.__name__} lacks {name}"
        expected = list(inspect.signature(getattr(protocol, name)).parameters)
        assert list(inspect.signature(implementation).parameters) == expected, name


def test_admin_client_never_shows_its_headers():
    admin = AcapyAdmin("http://127.0.0.1:9", {"x-api-key": "planted-key-123"})
    assert "planted-key-123" not in repr(admin)
