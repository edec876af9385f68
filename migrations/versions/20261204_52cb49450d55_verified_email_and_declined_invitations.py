"""verified email addresses and declined invitations

Accounts made before this change were created under the old rules (no confirmation
step), so every existing account is marked verified at the moment of the upgrade.

Revision ID: 52cb49450d55
Revises: 30f2f78bd1c4
Create Date: 2026-12-04 15:00:00.000000

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = '52cb49450d55'
down_revision = '30f2f78bd1c4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_verified_at', app.core.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('declined_at', app.core.db.UTCDateTime(), nullable=True))
    user = sa.table('user', sa.column('email_verified_at', app.core.db.UTCDateTime()))
    op.execute(
        user.update()
        .where(user.c.email_verified_at.is_(None))
        .values(email_verified_at=datetime.now(timezone.utc))
    )


def downgrade():
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_column('declined_at')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('email_verified_at')
