"""search documents: the postgres search backend's rows (tsvector, GIN)

Revision ID: c8d2e4f6a1b3
Revises: b7c1d9e3f5a2
Create Date: 2026-12-01

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'c8d2e4f6a1b3'
down_revision = 'b7c1d9e3f5a2'
branch_labels = None
depends_on = None

TSVECTOR = postgresql.TSVECTOR().with_variant(sa.Text(), "sqlite")
IDS = postgresql.ARRAY(sa.Integer()).with_variant(sa.Text(), "sqlite")


# PostgreSQL's English without its stop list (Whoosh's analyzer has none): see
# constituent/models/search.py.
CREATE_TEXT_SEARCH_CONFIG = """
CREATE TEXT SEARCH DICTIONARY constituent_english_stem (TEMPLATE = snowball, Language = english);
CREATE TEXT SEARCH CONFIGURATION constituent_english (COPY = english);
ALTER TEXT SEARCH CONFIGURATION constituent_english
  ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
  WITH constituent_english_stem;
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE_TEXT_SEARCH_CONFIG)
    # Created on SQLite too (plain text columns, never filled) so that the models equal the
    # migrated schema on both; only PostgreSQL's search backend writes it.
    op.create_table(
        'search_documents',
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('record_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('words', TSVECTOR, nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('district_id', sa.Integer(), nullable=True),
        sa.Column('confidential', sa.Boolean(), nullable=False),
        sa.Column('assignee_id', sa.Integer(), nullable=True),
        sa.Column('opened_by_id', sa.Integer(), nullable=True),
        sa.Column('district', sa.String(length=32), nullable=True),
        sa.Column('status', sa.String(length=32), nullable=True),
        sa.Column('category', sa.String(length=120), nullable=True),
        sa.Column('agencies', IDS, nullable=True),
        sa.Column('opened', sa.Integer(), nullable=True),
        sa.Column('closed', sa.Integer(), nullable=True),
        sa.Column('opened_ts', sa.BigInteger(), nullable=False),
        sa.Column('activity_ts', sa.BigInteger(), nullable=False),
        sa.Column('stamp', sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'record_id', name=op.f('pk_search_documents')),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Long values out of line: the rows counted and grouped for facets stay narrow.
        op.execute("ALTER TABLE search_documents SET (toast_tuple_target = 128)")
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.create_index('ix_search_documents_kind_opened', ['kind', 'opened_ts'], unique=False)
        batch_op.create_index(
            'ix_search_documents_words', ['words'], unique=False, postgresql_using='gin'
        )


def downgrade():
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_search_documents_words', postgresql_using='gin')
        batch_op.drop_index('ix_search_documents_kind_opened')

    op.drop_table('search_documents')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS constituent_english")
        op.execute("DROP TEXT SEARCH DICTIONARY IF EXISTS constituent_english_stem")
