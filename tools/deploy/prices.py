"""AWS list prices the cost estimate uses, each with the page it was read from.

US East (N. Virginia), without any free tier, read on :data:`PRICES_DATE`. Other regions differ
by a few percent; check the pages before relying on a figure.
"""

from __future__ import annotations

PRICES_DATE = "2026-11 (us-east-1 list prices, no free tier; check aws.amazon.com/pricing)"

#: USD per unit, and where each was read.
PRICES: dict[str, float] = {
    # https://aws.amazon.com/api-gateway/pricing/ (REST APIs, first 333 million a month)
    "apigw_rest_request": 3.50 / 1e6,
    # https://aws.amazon.com/lambda/pricing/ (arm64; INIT is billed as duration since 2025-08)
    "lambda_request": 0.20 / 1e6,
    "lambda_arm_gb_s": 0.0000133334,
    # https://aws.amazon.com/iot-core/pricing/ (messages per 5 KB; metering rules on its
    # "additional details" page: a retained publish is metered twice, a device's PUBACK once)
    "iot_connect_minute": 0.08 / 1e6,
    "iot_message": 1.00 / 1e6,
    # https://aws.amazon.com/kinesis/video-streams/pricing/ (WebRTC)
    "kvs_channel_month": 0.03,
    "kvs_signaling_message": 2.25 / 1e6,
    "kvs_turn_minute": 0.12 / 1000,
    # https://aws.amazon.com/s3/pricing/ (Standard)
    "s3_gb_month": 0.023,
    "s3_get": 0.0004 / 1000,
    "s3_put": 0.005 / 1000,
    "s3_gb_out": 0.09,
    # https://aws.amazon.com/cloudfront/pricing/ (pay as you go, North America and Europe)
    "cloudfront_request": 0.0100 / 10_000,
    "cloudfront_gb_out": 0.085,
    # https://aws.amazon.com/cognito/pricing/ (Essentials, the tier new user pools get)
    "cognito_mau": 0.015,
    # https://aws.amazon.com/cloudwatch/pricing/
    "cw_alarm_metric": 0.10,
    "cw_custom_metric": 0.30,
    "cw_dashboard": 3.00,
    "logs_gb_ingested": 0.50,
    "logs_gb_month": 0.03,
    # https://aws.amazon.com/xray/pricing/
    "xray_trace": 5.00 / 1e6,
    # https://aws.amazon.com/sqs/pricing/ and https://aws.amazon.com/sns/pricing/
    "sqs_request": 0.40 / 1e6,
    "sns_email": 2.00 / 100_000,
}
