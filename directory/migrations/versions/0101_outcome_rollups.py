"""daily and hourly rollups of the outcome log for the dashboard (backfilled from the log)

Revision ID: 0101
Revises: 0100
"""
from alembic import op
import sqlalchemy as sa


revision = '0101'
down_revision = '0100'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'outcome_daily',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('lad', sa.String(length=9), nullable=False),
        sa.Column('place', sa.String(length=40), nullable=False),
        sa.Column('cls', sa.String(length=40), nullable=False),
        sa.Column('first_type', sa.String(length=40), nullable=False),
        sa.Column('ed_reason', sa.String(length=20), nullable=False),
        sa.Column('catch_all', sa.Boolean(), nullable=False),
        sa.Column('calls', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'lad', 'place', 'cls', 'first_type', 'ed_reason', 'catch_all'),
    )
    op.create_table(
        'outcome_hourly',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('lad', sa.String(length=9), nullable=False),
        sa.Column('place', sa.String(length=40), nullable=False),
        sa.Column('local_hour', sa.SmallInteger(), nullable=False),
        sa.Column('calls', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'lad', 'place', 'local_hour'),
    )
    with op.batch_alter_table('outcomes', schema=None) as batch_op:  # the hour figure filtered by service type
        batch_op.create_index('ix_outcomes_type_day_hour', ['first_type', 'day', 'local_hour'], unique=False)
    from uec.intelligence.rollup import rebuild
    rebuild(op.get_bind())


def downgrade():
    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.drop_index('ix_outcomes_type_day_hour')
    op.drop_table('outcome_hourly')
    op.drop_table('outcome_daily')
