"""immersion cohorts and sessions that change: versions, iCalendar sequence, cancellation,
the cohort a copy was made from

Revision ID: 30f2f78bd1c4
Revises: b4ad6abc3b7e
Create Date: 2026-12-04 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = '30f2f78bd1c4'
down_revision = 'b4ad6abc3b7e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('immersion_cohort', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('cancelled_at', app.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('cancellation_reason', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('copied_from_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_immersion_cohort_copied_from_id_immersion_cohort'), 'immersion_cohort', ['copied_from_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('immersion_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('sequence', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('cancelled_at', app.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('cancellation_reason', sa.Text(), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('immersion_session', schema=None) as batch_op:
        batch_op.drop_column('cancellation_reason')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('sequence')
        batch_op.drop_column('version')

    with op.batch_alter_table('immersion_cohort', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_immersion_cohort_copied_from_id_immersion_cohort'), type_='foreignkey')
        batch_op.drop_column('copied_from_id')
        batch_op.drop_column('cancellation_reason')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('version')
