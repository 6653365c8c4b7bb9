package ketalink.hapi;

import ca.uhn.fhir.rest.server.RestfulServer;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;

/**
 * Starts the HAPI FHIR JPA server on 127.0.0.1: {@code java ketalink.hapi.HapiServer PORT}; the FHIR base is
 * {@code http://127.0.0.1:PORT/fhir}. Prints "ketalink hapi ready" once it serves; stops on SIGTERM.
 */
public final class HapiServer {

	private HapiServer() {}

	public static void main(String[] args) throws Exception {
		if (args.length != 1) {
			System.err.println("usage: java ketalink.hapi.HapiServer PORT");
			System.exit(2);
		}
		int port = Integer.parseInt(args[0]);
		long started = System.nanoTime();
		AnnotationConfigApplicationContext spring = new AnnotationConfigApplicationContext(HapiServerConfig.class);
		RestfulServer fhir = spring.getBean(RestfulServer.class);

		Server jetty = new Server();
		ServerConnector connector = new ServerConnector(jetty);
		connector.setHost("127.0.0.1");
		connector.setPort(port);
		jetty.addConnector(connector);
		ServletContextHandler context = new ServletContextHandler("/");
		ServletHolder holder = new ServletHolder("fhir", fhir);
		holder.setInitOrder(1);
		context.addServlet(holder, "/fhir/*");
		jetty.setHandler(context);
		jetty.setStopAtShutdown(true);
		Runtime.getRuntime().addShutdownHook(new Thread(spring::close, "spring-close"));
		jetty.start();
		System.out.printf("ketalink hapi ready on http://127.0.0.1:%d/fhir after %.1f s%n",
				port, (System.nanoTime() - started) / 1e9);
		System.out.flush();
		jetty.join();
	}
}
