//! The WebSocket API in the CloudFormation template: an
//! `AWS::ApiGatewayV2::Api` with `ProtocolType: WEBSOCKET` and the route
//! selection expression, one `AWS_PROXY` integration to the API function,
//! one route per handler, the auto-deployed stage, the invoke permission
//! scoped to the API, and the role's `execute-api:ManageConnections`.

use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::manifest::Manifest;

/// The logical id of a route (`WsRouteConnect`, `WsRouteSendmessage`).
fn route_id(key: &str) -> String {
    super::logical_id("WsRoute", key, "")
}

/// The role statement (also what deploy adds).
pub(super) fn role_statement() -> Value {
    json!({
        "Effect": "Allow",
        "Action": ["execute-api:ManageConnections"],
        "Resource": [{"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WsApi}/*"}]
    })
}

/// Adds the WebSocket API's resources and its `WebSocketUrl` output, for
/// the API function `Function`; nothing without WebSocket handlers.
pub(super) fn resources(
    cfg: &Config,
    m: &Manifest,
    resources: &mut Map<String, Value>,
    outputs: &mut Map<String, Value>,
) {
    let Some(ws) = m.websocket.as_ref().filter(|w| !w.routes.is_empty()) else {
        return;
    };
    resources.insert(
        "WsApi".into(),
        json!({
            "Type": "AWS::ApiGatewayV2::Api",
            "Properties": {
                "Name": format!("{}-websocket", cfg.api_name),
                "ProtocolType": "WEBSOCKET",
                "RouteSelectionExpression": ws.route_selection,
                "Tags": {"lambada:function": cfg.function}
            }
        }),
    );
    resources.insert(
        "WsIntegration".into(),
        json!({
            "Type": "AWS::ApiGatewayV2::Integration",
            "Properties": {
                "ApiId": {"Ref": "WsApi"},
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Function.Arn}/invocations"}
            }
        }),
    );
    let mut routes = Vec::new();
    for r in &ws.routes {
        let id = route_id(&r.route_key);
        resources.insert(
            id.clone(),
            json!({
                "Type": "AWS::ApiGatewayV2::Route",
                "Properties": {
                    "ApiId": {"Ref": "WsApi"},
                    "RouteKey": r.route_key,
                    "Target": {"Fn::Sub": "integrations/${WsIntegration}"}
                }
            }),
        );
        routes.push(id);
    }
    resources.insert(
        "WsStage".into(),
        json!({
            "Type": "AWS::ApiGatewayV2::Stage",
            "DependsOn": routes,
            "Properties": {"ApiId": {"Ref": "WsApi"}, "StageName": cfg.stage, "AutoDeploy": true}
        }),
    );
    resources.insert(
        "WsPermission".into(),
        json!({
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Fn::GetAtt": ["Function", "Arn"]},
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WsApi}/*"}
            }
        }),
    );
    outputs.insert(
        "WebSocketUrl".into(),
        json!({"Value": {"Fn::Sub": format!("wss://${{WsApi}}.execute-api.${{AWS::Region}}.amazonaws.com/{}", cfg.stage)}}),
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn route_ids_are_alphanumeric() {
        assert_eq!(super::route_id("$connect"), "WsRouteConnect");
        assert_eq!(super::route_id("send-message"), "WsRouteSendMessage");
        assert_eq!(super::route_id("$default"), "WsRouteDefault");
    }
}
