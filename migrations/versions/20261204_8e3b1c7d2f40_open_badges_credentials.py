"""Open Badges 3.0 credentials issued with certificates, with their status-list bits

Revision ID: 8e3b1c7d2f40
Revises: 5d2c8e1f7a93
Create Date: 2026-12-04 19:00:00.000000

One row per certificate issued from now on: the signed VC-JWT, the id of the key that signed
it, and its random index in the revocation status list. Certificates issued before have none.
"""
from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = '8e3b1c7d2f40'
down_revision = '5d2c8e1f7a93'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'certificate_credential',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('certificate_id', sa.Integer(), nullable=False),
        sa.Column('credential_id', sa.String(length=80), nullable=False),
        sa.Column('status_list', sa.Integer(), nullable=False),
        sa.Column('status_index', sa.Integer(), nullable=False),
        sa.Column('kid', sa.String(length=64), nullable=False),
        sa.Column('jwt', sa.Text(), nullable=False),
        sa.Column('issued_at', app.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['certificate_id'], ['certificate.id'], name=op.f('fk_certificate_credential_certificate_id_certificate'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_credential')),
        sa.UniqueConstraint('certificate_id', name=op.f('uq_certificate_credential_certificate_id')),
        sa.UniqueConstraint('credential_id', name=op.f('uq_certificate_credential_credential_id')),
        sa.UniqueConstraint('status_list', 'status_index', name='uq_certificate_credential_status'),
    )


def downgrade():
    op.drop_table('certificate_credential')
