"""agreement templates and the version signed

Revision ID: 4d6a220872fb
Revises: c1d920f6d6d8
Create Date: 2026-12-04 18:46:14.795629

Admins publish the blank IP Terms of Use Agreement and Statement of Collaboration, one row per
version (the newest of a kind is current). Each signed agreement names the version it was
signed on; agreements uploaded before this change name none.
"""
from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = '4d6a220872fb'
down_revision = 'c1d920f6d6d8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('agreement_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('version_label', sa.String(length=40), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('storage_key', sa.String(length=200), nullable=False),
    sa.Column('original_name', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=120), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('sample', sa.Boolean(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', app.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], name=op.f('fk_agreement_template_uploaded_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_template')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_agreement_template_storage_key'))
    )
    with op.batch_alter_table('agreement_template', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_template_kind'), ['kind'], unique=False)

    with op.batch_alter_table('agreement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_agreement_template_id'), ['template_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_agreement_template_id_agreement_template'), 'agreement_template', ['template_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('agreement', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_agreement_template_id_agreement_template'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_agreement_template_id'))
        batch_op.drop_column('template_id')

    with op.batch_alter_table('agreement_template', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreement_template_kind'))

    op.drop_table('agreement_template')
