"""certificate signing keys (rotation) and the template hash of each certificate

Revision ID: c1d920f6d6d8
Revises: 8e3b1c7d2f40
Create Date: 2026-12-04 19:00:00.000000

Every key that signs certificate PDFs becomes a row of signing_key (its public certificate,
fingerprint, validity, where its private key file is, when it was retired); each certificate
points at the key that signed it. Existing certificates get their key on first use of the
keys (app/certificates/keys.py), since only the running app can read the key files.
template_hash records the SHA-256 of the template folder a certificate was rendered from;
certificates issued before this change have none.
"""
from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = 'c1d920f6d6d8'
down_revision = '8e3b1c7d2f40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'signing_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('issuer', sa.String(length=300), nullable=False),
        sa.Column('cert_pem', sa.Text(), nullable=False),
        sa.Column('key_file', sa.String(length=500), nullable=False),
        sa.Column('not_before', app.core.db.UTCDateTime(), nullable=False),
        sa.Column('not_after', app.core.db.UTCDateTime(), nullable=False),
        sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
        sa.Column('retired_at', app.core.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_key')),
        sa.UniqueConstraint('fingerprint', name=op.f('uq_signing_key_fingerprint')),
    )
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('signing_key_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_certificate_signing_key_id'), ['signing_key_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_certificate_signing_key_id_signing_key'), 'signing_key', ['signing_key_id'], ['id'], ondelete='RESTRICT')


def downgrade():
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_certificate_signing_key_id_signing_key'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_certificate_signing_key_id'))
        batch_op.drop_column('signing_key_id')
        batch_op.drop_column('template_hash')

    op.drop_table('signing_key')
