# syntax=docker/dockerfile:1
# The image of any of the four services; SERVICE is its folder under services/ (also its image and Kubernetes name).
# Build from the repository root (the context needs shared/ and the Directory.*.props):
#   docker build --build-arg SERVICE=heartbeat-api -t presence/heartbeat-api:dev .
# SDK build stage -> chiseled ASP.NET runtime (no shell, no package manager, non-root "app" user 1654).
# Kubernetes probes /health/live and /health/ready (k8s/base), so there is no HEALTHCHECK.
ARG SERVICE

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG SERVICE
RUN [ -n "$SERVICE" ] || { echo "--build-arg SERVICE=<folder under services/> is required" >&2; exit 1; }
WORKDIR /src
# Restore first, from the project files only, so the package layer is reused until a csproj changes.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY shared/Presence.Core/Presence.Core.csproj shared/Presence.Core/
COPY shared/Presence.ServiceDefaults/Presence.ServiceDefaults.csproj shared/Presence.ServiceDefaults/
COPY shared/Presence.Endpoints/Presence.Endpoints.csproj shared/Presence.Endpoints/
COPY services/${SERVICE}/*.csproj services/${SERVICE}/
RUN dotnet restore services/${SERVICE}
COPY shared/ shared/
# status-query's wwwroot/ (the board page and /js/presence.js) is committed, built from clients/js: no node stage.
COPY services/${SERVICE}/ services/${SERVICE}/
# The runtime stage has no shell to choose the assembly by name, so the apphost (which names its assembly itself)
# is published as /app/service for every service.
RUN dotnet publish services/${SERVICE} -c Release --no-restore -o /app -p:UseAppHost=true \
 && mv "/app/$(dotnet msbuild services/${SERVICE} -getProperty:AssemblyName)" /app/service

FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled AS final
ARG SERVICE
LABEL org.opencontainers.image.title="presence/${SERVICE}"
WORKDIR /app
COPY --from=build /app ./
# The one port Kestrel binds; k8s/base sets the same value and containerPort 8080 (tests check all three agree).
ENV ASPNETCORE_HTTP_PORTS=8080
EXPOSE 8080
USER 1654
ENTRYPOINT ["/app/service"]
