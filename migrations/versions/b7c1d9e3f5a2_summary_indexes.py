"""summary indexes: a district's cases by opening and by close, and the spans of a case

Revision ID: b7c1d9e3f5a2
Revises: b6e1f4a2c9d7
Create Date: 2026-12-01

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7c1d9e3f5a2'
down_revision = 'b6e1f4a2c9d7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_district_opened_at', ['district_id', 'opened_at'], unique=False)
        batch_op.create_index('ix_cases_district_status_closed_at', ['district_id', 'status', 'closed_at'], unique=False)

    with op.batch_alter_table('case_intervals', schema=None) as batch_op:
        batch_op.create_index('ix_case_intervals_case_span', ['case_id', 'opened_at', 'closed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('case_intervals', schema=None) as batch_op:
        batch_op.drop_index('ix_case_intervals_case_span')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_district_status_closed_at')
        batch_op.drop_index('ix_cases_district_opened_at')
