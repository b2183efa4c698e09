# What a Terraform user writes to manage CloudFront against the sandbox (docs/sandbox.md):
# every endpoint at the sandbox, the emulator's credentials, and HTTP_PROXY = the sandbox in
# the environment for the KeyValueStore data plane (the provider puts the account id in
# front of that host). tests/sandbox/test_terraform.py applies it, then expects an empty plan.
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

variable "endpoint" {
  type = string
}

provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints {
    cloudfront              = var.endpoint
    cloudfrontkeyvaluestore = var.endpoint
    iam                     = var.endpoint
    lambda                  = var.endpoint
    sts                     = var.endpoint
  }
}

resource "aws_cloudfront_key_value_store" "tiers" {
  name    = "tf-tier-origins"
  comment = "managed by terraform"
}

resource "aws_cloudfrontkeyvaluestore_key" "premium" {
  key_value_store_arn = aws_cloudfront_key_value_store.tiers.arn
  key                 = "premium"
  value               = "premium-api.example.com"
}

resource "aws_cloudfront_function" "router" {
  name    = "tf-router"
  runtime = "cloudfront-js-2.0"
  publish = true
  code    = "function handler(event) { return event.request; }"
  key_value_store_associations = [aws_cloudfront_key_value_store.tiers.arn]
}

resource "aws_cloudfront_distribution" "shop" {
  enabled             = true
  comment             = "terraform on the sandbox"
  wait_for_deployment = false # the provider polls every 30 s; the sandbox deploys in reads

  origin {
    domain_name = "basic-api.example.com"
    origin_id   = "basic-api"
    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
  }

  default_cache_behavior {
    target_origin_id       = "basic-api"
    viewer_protocol_policy = "redirect-to-https"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    cache_policy_id        = "658327ea-f89d-4fab-a63d-7e88639e58f6" # Managed-CachingOptimized

    function_association {
      event_type   = "viewer-request"
      function_arn = aws_cloudfront_function.router.arn
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }
}
