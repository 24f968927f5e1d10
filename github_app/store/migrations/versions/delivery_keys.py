"""Delivery keys: the repository id of each stored webhook delivery.

Revision ID: delivery_keys
Revises: 0001

``webhook_deliveries.repo_id`` is GitHub's numeric repository id, copied out of the payload at
intake (``NULL`` for installation-wide events), so workers order deliveries per repository
without parsing the payload again.  ``payload_sha256`` (from 0001) is likewise computed once at
intake and cited by the ledger entries the delivery produces.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "delivery_keys"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("webhook_deliveries", sa.Column("repo_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("webhook_deliveries", "repo_id")
