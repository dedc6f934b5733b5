"""The sign-in backend: Django's, reading the user's roles in the same query as the user."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Q

from mesoclinic.core import roles


class StaffBackend(ModelBackend):
    """Every request loads the signed-in user; their group names come with it, so
    `roles.roles_of` needs no query of its own on any page."""

    def get_user(self, user_id):
        user = (
            get_user_model()
            ._default_manager.filter(pk=user_id)
            .annotate(
                group_names=ArrayAgg(
                    "groups__name", filter=Q(groups__isnull=False), distinct=True, default=[]
                )
            )
            .first()
        )
        if user is None or not self.user_can_authenticate(user):
            return None
        roles.remember_roles(user, user.group_names)
        return user
