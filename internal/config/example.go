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
    #   ssm: http://127.0.0.1:4566              # where api_key_ssm is read
    #   secretsmanager: http://127.0.0.1:4566   # where api_key_secret is read
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
      strip_suffix: .xml

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
`
