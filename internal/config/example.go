package config

// Example returns a commented example config: a staging environment whose API key comes
// from an environment variable and whose status table has a GSI, and a read-only
// production environment that signs gateway calls with IAM. It passes Load and Validate.
func Example() string { return example }

const example = `# stowage configuration.
# Default location: $XDG_CONFIG_HOME/stowage/config.yaml (~/.config/stowage/config.yaml);
# another file: stowage --config FILE. Check it with: stowage config validate

# The environment used when --env is not given. Without it, a file with a single
# environment uses that one.
default_env: staging

environments:
  staging:
    # AWS credentials and region. Both are optional: without them the usual AWS chain
    # applies (AWS_PROFILE, AWS_REGION, ~/.aws/config, SSO profiles).
    profile: acme-staging
    region: eu-west-1

    # Endpoint overrides per service, for LocalStack or VPC endpoints. Optional; the
    # flag --endpoint-url sets s3, dynamodb, sts, ssm and secretsmanager at once, and
    # AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_DYNAMODB work as usual.
    # endpoints:
    #   s3: http://127.0.0.1:4566
    #   dynamodb: http://127.0.0.1:4566
    #   sts: http://127.0.0.1:4566              # caller identity (doctor, audit)
    #   ssm: http://127.0.0.1:4566              # where api_key_ssm is read
    #   secretsmanager: http://127.0.0.1:4566   # where api_key_secret is read
    #   sqs: http://127.0.0.1:4566              # redrive --mode sqs
    #   lambda: http://127.0.0.1:4566           # redrive --mode lambda
    #   eventbridge: http://127.0.0.1:4566      # redrive --mode eventbridge
    #   logs: http://127.0.0.1:4566             # CloudWatch Logs, for trace
    #   s3control: http://127.0.0.1:4566        # S3 Batch Operations (--engine batch-ops)
    # Fixed keys for such a local stack (LocalStack accepts test/test). Refused unless
    # every AWS endpoint above is on this machine, so they can never be sent to AWS.
    # local_credentials:
    #   access_key_id: test
    #   secret_access_key: test

    storage:
      # The bucket in which API Gateway stores each request body (required).
      bucket: acme-staging-requests
      # Only keys under this prefix are listed (optional).
      prefix: incoming/
      # A key maps to a request ID by removing strip_prefix (default: prefix) and
      # strip_suffix: incoming/3f2b...c9.xml -> 3f2b...c9
      # strip_prefix: incoming/
      strip_suffix: .xml
      # The bucket is versioned: a request's original arrival is read from its oldest
      # version (one ListObjectVersions call per request; trace lists every version).
      # received_from_versions: true

    status:
      # The DynamoDB table in which the processor records each request (required).
      table: acme-staging-status
      # Attribute names; these are the defaults.
      key_attr: requestId        # partition key, holds the request ID
      status_attr: status
      error_attr: error
      attempts_attr: attempts
      updated_at_attr: updatedAt
      # A GSI with status_attr as hash key and updated_at_attr as range key makes
      # "show me every FAILED request" a query instead of a table scan (optional).
      index: status-updatedAt-index
      # States after which a request is done (default [PROCESSED]).
      terminal_states: [PROCESSED, SKIPPED]
      # A stored request with no status item after this long counts as LOST
      # (default 15m).
      lost_after: 15m
      # Where the processor records a request's first arrival (optional). A redrive in
      # place rewrites the object, so its LastModified becomes the redrive's time; with
      # this, RECEIVED and --since keep the original arrival.
      # received_attr: receivedAt
      # Failure classes (stowage errors, the TUI's E view): Go regular expressions,
      # matched case-insensitively against the error, tried before the built-in defaults
      # (permanent: parse, syntax, validation, schema errors; transient: timeouts,
      # throttling, 5xx, "unavailable"). A message matching both kinds is transient.
      # redrive --skip-permanent leaves the permanent ones out.
      permanent_errors: ['account \w+ closed', '^schema mismatch']
      transient_errors: ['lock held by']

    gateway:
      # The storage-first API, including the stage.
      url: https://abc123.execute-api.eu-west-1.amazonaws.com/staging
      # How stowage authenticates when it redrives: api-key, iam (SigV4) or none.
      auth: api-key
      # Exactly one source of the API key:
      api_key_env: STOWAGE_STAGING_API_KEY      # an environment variable
      # api_key_ssm: /acme/staging/api-key      # an SSM parameter (SecureString)
      # api_key_secret: acme/staging/api-key    # a Secrets Manager secret id
      # A literal api_key: works but warns, and the file must then be chmod 600.
      routes:
        # Upload again as a new request (the gateway picks the new request ID).
        reupload: PUT /product
        # Overwrite the same object; placeholders {bucket}, {key} and {requestId}.
        inplace: PUT /product/{bucket}/{key}
      # Headers sent with every redrive so that the processor can deduplicate
      # (these are the defaults).
      original_id_header: X-Stowage-Original-Request-Id
      redrive_id_header: X-Stowage-Redrive-Id

    # Redrive requests per second (default 10).
    rate: 10
    redrive:
      # A DynamoDB table (partition key requestId, type S; TTL on attribute ttl) in which
      # each run claims a request before sending it, so that two runs on different
      # machines never send the same request. Without it only this machine's runs are
      # seen. Create it with the command in README (section "The lease table").
      lease_table: acme-staging-stowage-leases
      # How long a claim holds if its run dies before finishing it; another run may
      # take it over after that (default 15m; 1m to 24h).
      lease_ttl: 15m
    # Colour of the environment's name in the header: #rrggbb, #rgb or 0-255.
    color: "#00aa88"
    # Bytes of a payload the TUI fetches at first and per "load more" (default
    # 1048576, 1 MiB; 4096 to 67108864).
    preview_bytes: 1048576
    # How often the TUI reads the statuses on screen and the new failures again (default
    # 5s; 1s to 1h; ctrl+r turns it off), and the most status items a second it reads
    # doing so (default 10: 5 read capacity units, eventually consistent).
    refresh: 5s
    read_budget: 10

    # The processor's trigger, for redrive --mode sqs, lambda and eventbridge, which hand
    # it the S3 event of the stored object again without writing the object. Only the
    # target of the mode you use is needed.
    events:
      # --mode sqs: the queue S3 notifies (aws sqs get-queue-url --queue-name NAME).
      sqs_queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/product-ingest
      # sqs_message_group: redrive      # FIFO queues only; default: the request ID
      # --mode lambda: the function S3 invokes (name, partial ARN or ARN).
      lambda_function: product-ingest
      # lambda_qualifier: live          # alias or version; redrive --qualifier overrides
      # --mode eventbridge: the bus S3 sends to (name or ARN).
      # event_bus: default
      # The events' source (default aws.s3). AWS refuses aws.* sources from PutEvents:
      # on AWS set your own and add it to the rule's pattern.
      # event_source: stowage.s3
      # configuration_id: stowage-redrive   # s3.configurationId in the record (default)

    # redrive --engine batch-ops: hand large redrives to S3 Batch Operations.
    batch_ops:
      # The role S3 Batch Operations assumes; you need iam:PassRole on it.
      role_arn: arn:aws:iam::123456789012:role/stowage-batch-ops
      manifest_prefix: s3://acme-ops/stowage/manifests/   # the job's CSV manifest goes here
      report_prefix: s3://acme-ops/stowage/reports/       # S3 writes the completion report here
      suggest_above: 100000     # a local plan larger than this suggests the engine (default)
      # The processor accepts Batch Operations' own event (schema 2.0): enables --mode
      # lambda, which invokes lambda_function (default events.lambda_function).
      # lambda_schema: "2.0"
      # lambda_function: arn:aws:lambda:eu-west-1:123456789012:function:product-ingest
      # account_id: "123456789012"   # the jobs' account (default: the caller's, from STS)
      # priority: 10                 # the job's priority (default)
      # The plan's cost estimate. Defaults: us-east-1 list prices in USD; set your region's.
      cost:
        currency: USD
        per_job: 0.25
        per_million_objects: 1.00
        per_thousand_copies: 0.005   # --mode s3-copy: a COPY request each
        per_million_invokes: 0.20    # --mode lambda: an invocation each (duration extra)

  prod:
    profile: acme-prod
    region: eu-west-1
    # Stricter confirmations and a red banner.
    production: true
    # Refuse every write (redrive, copy, put); --read-only sets it for one run.
    # Remove this line only when you mean to redrive in production.
    read_only: true
    storage:
      bucket: acme-prod-requests
    status:
      table: acme-prod-status
      # No GSI: stowage falls back to a filtered scan to find FAILED requests.
    gateway:
      url: https://def456.execute-api.eu-west-1.amazonaws.com/prod
      # Sign requests with SigV4 using the profile's credentials.
      auth: iam
    rate: 5
    redrive:
      lease_table: acme-prod-stowage-leases
    # CloudWatch Logs groups that stowage trace reads (group names, not ARNs).
    logs:
      processor_groups: [/aws/lambda/product-ingest]     # one or more
      access_log_group: /aws/apigateway/acme-prod/access  # optional: the stage's access log
      # execution_log_group: API-Gateway-Execution-Logs_def456/prod   # optional
      # Read from window_before each store and redrive to window_after it (defaults),
      # at most max_bytes of log lines per request (default 8 MiB; 64 KiB to 1 GiB).
      window_before: 1m
      window_after: 15m
      max_bytes: 8388608
`
