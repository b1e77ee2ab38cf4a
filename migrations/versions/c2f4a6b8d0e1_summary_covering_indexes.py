"""summary covering indexes: a district's cases by opening and by close with the columns the
summaries group by, and referrals by the dates sent and answered

Revision ID: c2f4a6b8d0e1
Revises: c8d2e4f6a1b3
Create Date: 2026-12-01

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c2f4a6b8d0e1'
down_revision = 'c8d2e4f6a1b3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_district_status_closed_at')
        batch_op.drop_index('ix_cases_district_opened_at')
        batch_op.create_index('ix_cases_district_opened_cover', ['district_id', 'opened_at', 'category_id', 'channel', 'confidential', 'constituent_id'], unique=False)
        batch_op.create_index('ix_cases_district_closed_cover', ['district_id', 'status', 'closed_at', 'category_id', 'outcome', 'assignee_id', 'confidential'], unique=False)

    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index('ix_referrals_sent_on', ['sent_on', 'case_id', 'agency_id'], unique=False)
        batch_op.create_index('ix_referrals_responded_on', ['responded_on', 'case_id', 'agency_id', 'sent_on'], unique=False)


def downgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_responded_on')
        batch_op.drop_index('ix_referrals_sent_on')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_district_closed_cover')
        batch_op.drop_index('ix_cases_district_opened_cover')
        batch_op.create_index('ix_cases_district_status_closed_at', ['district_id', 'status', 'closed_at'], unique=False)
        batch_op.create_index('ix_cases_district_opened_at', ['district_id', 'opened_at'], unique=False)
