"""Demo for `make run`: online booking open for the PRP courses at every location, with a
policy to accept. Idempotent: an existing setup is left as the manager made it."""

from mesoclinic.core import roles
from protocols.models import Protocol
from sessions.online.models import BookingPolicy, OnlineSettings
from sessions.scheduling.models import Location

DEMO_POLICY = (
    "Cancel or move an appointment up to 24 hours before it at no cost, from the link in "
    "your emails or by phone. Later cancellations and missed appointments are charged the "
    "clinic's late-cancellation or no-show fee. A deposit is due for a course booked online "
    "and is deducted from the price of the course."
)


def load_demo_online(*, users) -> None:
    if OnlineSettings.objects.exists():
        return
    config = OnlineSettings.objects.create(enabled=True)
    config.protocols.set(Protocol.objects.bookable().filter(name__startswith="PRP"))
    config.locations.set(Location.objects.filter(is_active=True))
    if not BookingPolicy.objects.exists():
        BookingPolicy.objects.create(
            number=1, text=DEMO_POLICY, created_by=users.get(roles.MANAGER)
        )
