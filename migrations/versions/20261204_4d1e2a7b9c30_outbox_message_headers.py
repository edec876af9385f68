"""outbox message headers (List-Unsubscribe)

Revision ID: 4d1e2a7b9c30
Revises: 3b6caf7cfe35
Create Date: 2026-12-04 15:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4d1e2a7b9c30'
down_revision = '3b6caf7cfe35'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('headers', sa.JSON(), nullable=False, server_default='{}'))


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('headers')
