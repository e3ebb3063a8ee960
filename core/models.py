"""The models every app shares: the log of state changes."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TransitionLog(models.Model):
    """One row per state change of any FSM field of any model, written in the change's transaction."""

    content_type = models.ForeignKey(
        ContentType,
        on_delete=models.PROTECT,
        db_index=False,  # led by transitionlog_subject_idx
        verbose_name=_("object type"),
    )
    object_id = models.CharField(_("object id"), max_length=64)
    subject = GenericForeignKey("content_type", "object_id")
    object_repr = models.CharField(_("object"), max_length=100)
    field = models.CharField(_("field"), max_length=40)
    source = models.CharField(_("from"), max_length=40, blank=True)
    target = models.CharField(_("to"), max_length=40)
    transition = models.CharField(_("transition"), max_length=60)
    actor = models.CharField(_("actor"), max_length=150)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("transition log entry")
        verbose_name_plural = _("transition log")
        db_table = "orders_transitionlog"  # where it was born, before core existed
        indexes = [models.Index(fields=["content_type", "object_id"], name="transitionlog_subject_idx")]

    def __str__(self):
        return f"{self.object_repr}.{self.field}: {self.source or '—'} → {self.target}"
