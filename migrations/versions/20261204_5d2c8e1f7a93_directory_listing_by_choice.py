"""directory listing by choice: the hub lead publishes it; staff can hide it

Revision ID: 5d2c8e1f7a93
Revises: 52cb49450d55
Create Date: 2026-12-04 15:10:00.000000

Before this change every approved hub with a valid certificate was listed unless its lead
ticked "hide". Now a hub is listed only once its lead has written the listing and chosen to
publish it. Existing rows: a listing the lead had written (a summary and a contact email or
joining link) and not hidden stays published, with "who it is for" taken from the
application's target audience; every other approved hub is unlisted until its lead
publishes (the overview and Directory listing tab say so).
"""
from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = '5d2c8e1f7a93'
down_revision = '52cb49450d55'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('hub_listing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audience', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('published', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('published_at', app.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('hidden_at', app.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('hidden_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('hidden_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.create_foreign_key(batch_op.f('fk_hub_listing_hidden_by_id_user'), 'user', ['hidden_by_id'], ['id'], ondelete='SET NULL')

    op.execute(
        "UPDATE hub_listing SET audience = COALESCE((SELECT a.target_audience FROM hub_application a "
        "WHERE a.organisation_id = hub_listing.organisation_id), '')"
    )
    op.execute(
        sa.text(
            "UPDATE hub_listing SET published = :yes, published_at = updated_at "
            "WHERE hidden = :no AND summary <> '' AND (contact_email <> '' OR join_url <> '')"
        ).bindparams(yes=True, no=False)
    )

    with op.batch_alter_table('hub_listing', schema=None) as batch_op:
        batch_op.alter_column('audience', server_default=None)
        batch_op.alter_column('published', server_default=None)
        batch_op.alter_column('hidden_reason', server_default=None)
        batch_op.drop_column('hidden')


def downgrade():
    with op.batch_alter_table('hub_listing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden', sa.Boolean(), nullable=False, server_default=sa.false()))

    # Before this change a row listed the hub unless hidden: keep unlisted what is unlisted now.
    op.execute(
        sa.text(
            "UPDATE hub_listing SET hidden = :yes WHERE published = :no OR hidden_at IS NOT NULL"
        ).bindparams(yes=True, no=False)
    )

    with op.batch_alter_table('hub_listing', schema=None) as batch_op:
        batch_op.alter_column('hidden', server_default=None)
        batch_op.drop_constraint(batch_op.f('fk_hub_listing_hidden_by_id_user'), type_='foreignkey')
        batch_op.drop_column('hidden_reason')
        batch_op.drop_column('hidden_by_id')
        batch_op.drop_column('hidden_at')
        batch_op.drop_column('published_at')
        batch_op.drop_column('published')
        batch_op.drop_column('audience')
