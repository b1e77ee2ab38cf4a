"""public help form: categories.public_name_es (the Spanish name shown on Spanish public pages)
and online_requests.form_key (one request per drawn form: a double click keeps one)

Revision ID: b6e1f4a2c9d7
Revises: d3309e0b3e26
Create Date: 2026-12-01 19:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b6e1f4a2c9d7'
down_revision = 'd3309e0b3e26'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_name_es', sa.String(length=80), nullable=True))

    with op.batch_alter_table('online_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_key', sa.String(length=43), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_online_requests_form_key'), ['form_key'])


def downgrade():
    with op.batch_alter_table('online_requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_online_requests_form_key'), type_='unique')
        batch_op.drop_column('form_key')

    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_column('public_name_es')
