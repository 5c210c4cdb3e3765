"""After the sale (issue 14): the order's refunded amount, dispute and
cancellation, the OrderEvent history behind them, and the `orders:refund`
scope, granted to the tokens that may already create orders (the provider that
reports payments reports their reversals)."""

import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


REFUND = "orders:refund"
WRITE = "orders:write"


def grant_refund_scope(apps, schema_editor):
    ApiToken = apps.get_model("orders", "ApiToken")
    for token in ApiToken.objects.filter(scopes__contains=WRITE):
        scopes = set(token.scopes.split(","))
        if WRITE in scopes and REFUND not in scopes:
            token.scopes = ",".join(sorted(scopes | {REFUND}))
            token.save(update_fields=["scopes"])


def revoke_refund_scope(apps, schema_editor):
    ApiToken = apps.get_model("orders", "ApiToken")
    for token in ApiToken.objects.filter(scopes__contains=REFUND):
        scopes = [s for s in token.scopes.split(",") if s and s != REFUND]
        token.scopes = ",".join(scopes)
        token.save(update_fields=["scopes"])


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0009_order_passthrough'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='order',
            name='cancelled_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='order',
            name='dispute_amount',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True),
        ),
        migrations.AddField(
            model_name='order',
            name='dispute_status',
            field=models.CharField(blank=True, choices=[('', 'No dispute'), ('opened', 'Dispute open'), ('won', 'Dispute won'), ('lost', 'Dispute lost (charged back)')], default='', max_length=10),
        ),
        migrations.AddField(
            model_name='order',
            name='refunded_amount',
            field=models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=12),
        ),
        migrations.AlterField(
            model_name='apitoken',
            name='scopes',
            field=models.CharField(default='orders:read,orders:write,orders:refund', max_length=200),
        ),
        migrations.CreateModel(
            name='OrderEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('refund', 'Refund'), ('dispute_opened', 'Dispute opened'), ('dispute_won', 'Dispute won'), ('dispute_lost', 'Dispute lost (charged back)'), ('cancel', 'Cancelled')], max_length=16)),
                ('amount', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True)),
                ('reason', models.CharField(blank=True, max_length=500)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('actor_kind', models.CharField(choices=[('provider', 'Payment provider'), ('seller', 'Seller'), ('staff', 'Staff')], max_length=10)),
                ('actor_name', models.CharField(max_length=150)),
                ('provider_event_id', models.CharField(blank=True, max_length=200)),
                ('request_fingerprint', models.CharField(blank=True, max_length=64)),
                ('provider_refund_id', models.CharField(blank=True, max_length=200)),
                ('form_nonce', models.CharField(blank=True, max_length=64)),
                ('api_token', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='orders.apitoken')),
                ('order', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='events', to='orders.order')),
                ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['created_at', 'pk'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('provider_event_id', ''), _negated=True), fields=('provider_event_id',), name='orderevent_provider_event_unique'), models.UniqueConstraint(condition=models.Q(('form_nonce', ''), _negated=True), fields=('form_nonce',), name='orderevent_form_nonce_unique')],
            },
        ),
        migrations.RunPython(grant_refund_scope, revoke_refund_scope),
    ]
