//! The inventory service: a Lambda `bootstrap` under Lambda, an HTTP server
//! in a container. `inventory healthcheck` is the container's health check.

#[lambada::main]
async fn main() -> Result<(), lambada::Error> {
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        return ecs_alb::probe(ecs_alb::inventory::HEALTH_PATH);
    }
    lambada::run(ecs_alb::inventory()).await
}
