"""API Gateway token authorizer: accepts Cognito ID tokens from every region's user pool."""
