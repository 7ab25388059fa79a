"""outcome log (no patient details) and saved what-if scenarios

Revision ID: 0100
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0100'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'outcomes',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('ref', sa.String(length=32), nullable=False),
        sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('local_hour', sa.SmallInteger(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('lsoa', sa.String(length=9), nullable=True),
        sa.Column('lad', sa.String(length=9), nullable=True),
        sa.Column('place', sa.String(length=40), nullable=True),
        sa.Column('age_band', sa.String(length=8), nullable=False),
        sa.Column('complaints', sa.String(length=200), nullable=True),
        sa.Column('disposition', sa.String(length=40), nullable=False),
        sa.Column('cls', sa.String(length=40), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('offered', sa.JSON(), nullable=False),
        sa.Column('offered_types', sa.JSON(), nullable=False),
        sa.Column('first_service', sa.String(length=64), nullable=True),
        sa.Column('first_type', sa.String(length=40), nullable=True),
        sa.Column('ed_offered', sa.Boolean(), nullable=False),
        sa.Column('ed_reason', sa.String(length=20), nullable=True),
        sa.Column('catch_all', sa.Boolean(), nullable=False),
        sa.Column('capacity', sa.JSON(), nullable=False),
        sa.Column('capacity_red', sa.Boolean(), nullable=False),
        sa.Column('directory_version', sa.Integer(), nullable=False),
        sa.Column('chosen', sa.String(length=64), nullable=True),
        sa.Column('chosen_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ref'),
    )
    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.create_index('ix_outcomes_hour', ['hour'], unique=False)
        batch_op.create_index('ix_outcomes_day_place', ['day', 'place'], unique=False)
        batch_op.create_index('ix_outcomes_cls_day', ['cls', 'day'], unique=False)
    op.create_table(
        'whatif_scenarios',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('spec', sa.JSON(), nullable=False),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )


def downgrade():
    op.drop_table('whatif_scenarios')
    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.drop_index('ix_outcomes_cls_day')
        batch_op.drop_index('ix_outcomes_day_place')
        batch_op.drop_index('ix_outcomes_hour')
    op.drop_table('outcomes')
